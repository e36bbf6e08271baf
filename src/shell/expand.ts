/**
 * Dockerfile word expansion, as BuildKit's shell lexer does it: quotes,
 * escapes and `$VAR` / `${VAR…}` substitution. Not a shell: no command
 * substitution, no globbing, no arithmetic.
 */
import { UserError } from '../errors.ts';
import { compileGlob, removePrefix, removeSuffix, replaceMatches } from './glob.ts';
import { WordCollector } from './words.ts';

export type EscapeChar = '\\' | '`';

/** The result of `expandWordWithMatches`. */
export interface TrackedExpansion {
  value: string;
  /** Variables that were looked up and set. */
  matched: ReadonlySet<string>;
  /** Variables that were looked up and not set. */
  unmatched: ReadonlySet<string>;
}

/**
 * Expands one word (quotes removed, no splitting): the value used for a
 * WORKDIR path, an ENV value, a COPY source, a flag value...
 *
 * - `'…'` is literal, the escape char included; `"…"` expands `$` and lets
 *   the escape char escape only `"`, `$` and itself.
 * - Outside quotes the escape char makes the next char literal; a trailing
 *   one is dropped.
 * - `$name` / `${name}`: unset → empty. Positional (`$1`) and special
 *   (`$@ $* $# $? $- $$ $! $0`) parameters are always unset. `$` before
 *   anything else is literal.
 * - `${v:-w}` `${v-w}` default, `${v:+w}` `${v+w}` alternative,
 *   `${v:?m}` `${v?m}` error with message m; the colon forms treat empty as
 *   unset. `w` and `m` are expanded themselves.
 * - `${v#p}` `${v##p}` `${v%p}` `${v%%p}` remove the shortest/longest
 *   matching prefix/suffix; `${v/p/r}` `${v//p/r}` replace the first/every
 *   match. Patterns know `*` and `?` only.
 *
 * Throws a UserError (without location: callers add it) on unterminated
 * quotes, malformed `${…}`, unsupported modifiers (`${v:=w}`, `${#v}`…), bad
 * patterns, and `${v?m}` failures.
 */
export function expandWord(raw: string, env: ReadonlyMap<string, string>, escapeChar: EscapeChar = '\\'): string {
  return new Expansion(raw, env, escapeChar).run().text;
}

/**
 * Like `expandWord`, but unquoted whitespace (written or coming from an
 * unquoted variable) separates words; quoted and escaped text never splits.
 * Used where one argument may hold several values (EXPOSE, VOLUME…).
 */
export function expandWords(raw: string, env: ReadonlyMap<string, string>, escapeChar: EscapeChar = '\\'): string[] {
  return new Expansion(raw, env, escapeChar).run().words;
}

/**
 * Like `expandWord`, also reporting which variables the word referred to:
 * for the UndefinedVar check and for cache keys (which build args a step uses).
 */
export function expandWordWithMatches(
  raw: string,
  env: ReadonlyMap<string, string>,
  escapeChar: EscapeChar = '\\',
): TrackedExpansion {
  const expansion = new Expansion(raw, env, escapeChar);
  const { text } = expansion.run();
  return { value: text, matched: expansion.matched, unmatched: expansion.unmatched };
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isDigit = (ch: string | undefined): boolean => ch !== undefined && /^\p{Nd}$/u.test(ch);
const isNameChar = (ch: string | undefined): boolean => ch !== undefined && /^[\p{L}\p{Nd}_]$/u.test(ch);

interface Pieces {
  text: string;
  words: string[];
}

class Expansion {
  private readonly chars: string[];
  private pos = 0;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    raw: string,
    private readonly env: ReadonlyMap<string, string>,
    private readonly escape: EscapeChar,
  ) {
    this.chars = Array.from(raw);
  }

  run(): Pieces {
    return this.until(undefined, false, '');
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  /**
   * Reads up to `stop` (consumed) or the end of input. With `rawEscapes`
   * (patterns) escape chars are kept so the glob compiler can tell `\*` from `*`.
   */
  private until(stop: string | undefined, rawEscapes: boolean, eofMessage: string): Pieces {
    const words = new WordCollector();
    let text = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (ch === stop) {
        this.pos++;
        return { text, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.dollar();
        text += value;
        words.addSplit(value);
      } else if (ch === "'" || ch === '"') {
        const value = ch === "'" ? this.singleQuoted() : this.doubleQuoted();
        text += value;
        words.addRaw(value);
      } else if (this.next() === this.escape) {
        if (rawEscapes) text += ch;
        const escaped = this.next();
        if (escaped === undefined) break;
        text += escaped;
        words.addRaw(rawEscapes ? ch + escaped : escaped);
      } else {
        text += ch;
        words.addChar(ch);
      }
    }
    if (stop !== undefined) throw new UserError(eofMessage);
    return { text, words: words.finish() };
  }

  private singleQuoted(): string {
    this.pos++;
    let text = '';
    for (let ch = this.next(); ch !== "'"; ch = this.next()) {
      if (ch === undefined) throw new UserError('unexpected end of statement while looking for matching single-quote');
      text += ch;
    }
    return text;
  }

  private doubleQuoted(): string {
    this.pos++;
    let text = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new UserError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.pos++;
        return text;
      }
      if (ch === '$') {
        text += this.dollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        const escaped = this.peek();
        if (escaped === undefined) continue;
        if (escaped === '"' || escaped === '$' || escaped === this.escape) {
          this.pos++;
          text += escaped;
          continue;
        }
      }
      text += ch;
    }
  }

  /** `$…` at the current position. */
  private dollar(): string {
    this.pos++;
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : (this.lookup(name) ?? '');
    }
    this.pos++;
    const first = this.peek();
    if (first === undefined) throw new UserError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new UserError('syntax error: bad substitution');
    const name = this.name();
    const op = this.next();
    if (op === undefined) throw new UserError("syntax error: missing '}'");
    if (op === '}') return this.lookup(name) ?? '';
    if (op === '/') return this.replace(name);
    const colon = op === ':';
    const modifier = colon ? this.next() : op;
    if (modifier === undefined) throw new UserError("syntax error: missing '}'");
    if (!'+-?#%'.includes(modifier) || (colon && (modifier === '#' || modifier === '%'))) {
      throw new UserError(`unsupported modifier (${colon ? ':' : ''}${modifier}) in substitution`);
    }
    const isPattern = modifier === '#' || modifier === '%';
    const word = this.until('}', isPattern, "syntax error: missing '}'").text;
    const value = this.lookup(name);
    const unset = value === undefined || (colon && value === '');
    switch (modifier) {
      case '-':
        return unset ? word : value;
      case '+':
        return unset ? '' : word;
      case '?':
        if (unset) {
          const fallback = value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty';
          throw new UserError(`${name}: ${word || fallback}`);
        }
        return value;
      default: {
        const longest = word.startsWith(modifier);
        const glob = compileGlob(longest ? word.slice(1) : word, this.escape);
        const subject = value ?? '';
        return modifier === '#' ? removePrefix(subject, glob, longest) : removeSuffix(subject, glob, longest);
      }
    }
  }

  /** `${name/pattern/replacement}` or `${name//pattern/replacement}`, after the first `/`. */
  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.pos++;
    const pattern = this.until('/', true, "syntax error: missing '/' in ${}").text;
    const replacement = this.until('}', true, "syntax error: missing '}' in ${}").text;
    const value = this.lookup(name) ?? '';
    return replaceMatches(value, compileGlob(pattern, this.escape), replacement, all);
  }

  /** A variable name, a run of digits (positional) or one special-parameter char; may be empty. */
  private name(): string {
    const first = this.peek();
    if (isDigit(first)) {
      let digits = '';
      while (isDigit(this.peek())) digits += this.next();
      return digits;
    }
    if (first !== undefined && SPECIAL_PARAMS.has(first)) {
      this.pos++;
      return first;
    }
    let name = '';
    while (isNameChar(this.peek())) name += this.next();
    return name;
  }

  /** The variable's value; positional and special parameters are never set. */
  private lookup(name: string): string | undefined {
    if (isDigit(name[0]) || SPECIAL_PARAMS.has(name)) return undefined;
    const value = this.env.get(name);
    (value === undefined ? this.unmatched : this.matched).add(name);
    return value;
  }
}

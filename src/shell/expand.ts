/**
 * Dockerfile word expansion, as BuildKit's shell lexer does it: quotes,
 * escapes and `$VAR` / `${VAR…}` substitution. Not a shell: no command
 * substitution, no globbing, no arithmetic.
 */
import { UserError } from '../errors.ts';
import { compileGlob, removePrefix, removeSuffix, replaceMatches } from './glob.ts';
import { WordCollector } from './words.ts';

export type EscapeChar = '\\' | '`';

/**
 * How much of the input survives as written; BuildKit's lexer switches with
 * the same meaning. The parser uses them to find heredoc delimiters in a line
 * without interpreting it.
 */
export interface LexOptions {
  /** Keep quote characters in the output (BuildKit's `RawQuotes`). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output (`RawEscapes`). */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of expanding them (`SkipUnsetEnv`). */
  keepUnset?: boolean;
}

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
 * patterns, `${v?m}` failures, and substitutions nested over 1000 deep.
 */
export function expandWord(
  raw: string,
  env: ReadonlyMap<string, string>,
  escapeChar: EscapeChar = '\\',
  options: LexOptions = {},
): string {
  return new Expansion(raw, env, escapeChar, options).run().text;
}

/**
 * Like `expandWord`, but unquoted whitespace (written or coming from an
 * unquoted variable) separates words; quoted and escaped text never splits,
 * and neither does the blank after `<<` (a heredoc delimiter stays one word).
 * Used where one argument may hold several values (EXPOSE, VOLUME…).
 */
export function expandWords(
  raw: string,
  env: ReadonlyMap<string, string>,
  escapeChar: EscapeChar = '\\',
  options: LexOptions = {},
): string[] {
  return new Expansion(raw, env, escapeChar, options).run().words;
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
  const expansion = new Expansion(raw, env, escapeChar, {});
  const { text } = expansion.run();
  return { value: text, matched: expansion.matched, unmatched: expansion.unmatched };
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isDigit = (ch: string | undefined): boolean => ch !== undefined && /^\p{Nd}$/u.test(ch);
const isNameChar = (ch: string | undefined): boolean => ch !== undefined && /^[\p{L}\p{Nd}_]$/u.test(ch);
const isBlank = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';

/** Deeper `${…${…}}` nesting is refused rather than risking the call stack. */
const MAX_DEPTH = 1000;

interface Pieces {
  text: string;
  words: string[];
}

class Expansion {
  private pos = 0;
  private depth = 0;
  /** Whether escape chars are kept right now: pattern words keep them whatever the options say. */
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    private readonly raw: string,
    private readonly env: ReadonlyMap<string, string>,
    private readonly escape: EscapeChar,
    private readonly options: LexOptions,
  ) {
    this.rawEscapes = options.rawEscapes === true;
  }

  run(): Pieces {
    return this.until(undefined, this.rawEscapes, '');
  }

  /** The code point at the current position (one or two UTF-16 units). */
  private peek(): string | undefined {
    const { raw, pos } = this;
    if (pos >= raw.length) return undefined;
    const c = raw.charCodeAt(pos);
    if (c >= 0xd800 && c <= 0xdbff && pos + 1 < raw.length) {
      const d = raw.charCodeAt(pos + 1);
      if (d >= 0xdc00 && d <= 0xdfff) return raw.slice(pos, pos + 2);
    }
    return raw[pos];
  }

  private next(): string | undefined {
    const ch = this.peek();
    if (ch !== undefined) this.pos += ch.length;
    return ch;
  }

  /**
   * Reads up to `stop` (consumed) or the end of input. With `rawEscapes`
   * (patterns, or the rawEscapes option) escape chars are kept, so the glob
   * compiler can tell `\*` from `*`.
   */
  private until(stop: string | undefined, rawEscapes: boolean, eofMessage: string): Pieces {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.scan(stop, eofMessage);
    } finally {
      this.rawEscapes = saved;
    }
  }

  private scan(stop: string | undefined, eofMessage: string): Pieces {
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
      } else if (ch === '<') {
        const value = this.angle();
        text += value;
        words.addRaw(value);
      } else if (ch === this.escape) {
        this.pos++;
        if (this.rawEscapes) {
          text += ch;
          words.addRaw(ch);
        }
        const escaped = this.next();
        if (escaped === undefined) break;
        text += escaped;
        words.addRaw(escaped);
      } else {
        const run = this.plainRun(stop);
        text += run;
        words.addSplit(run);
      }
    }
    if (stop !== undefined) throw new UserError(eofMessage);
    return { text, words: words.finish() };
  }

  /**
   * The characters from here up to the next one that means something (or
   * `stop`); at least one. Those are all ASCII, so a run never ends inside a
   * surrogate pair.
   */
  private plainRun(stop: string | undefined): string {
    const { raw } = this;
    const start = this.pos;
    let end = start + 1;
    for (; end < raw.length; end++) {
      const c = raw[end];
      if (c === '$' || c === "'" || c === '"' || c === '<' || c === this.escape || c === stop) break;
    }
    this.pos = end;
    return raw.slice(start, end);
  }

  /** `<`, or `<<` glued to the blanks after it: a heredoc delimiter is one word even when written `<< EOF`. */
  private angle(): string {
    this.pos++;
    if (this.peek() !== '<') return '<';
    this.pos++;
    const start = this.pos;
    while (isBlank(this.raw[this.pos])) this.pos++;
    return `<<${this.raw.slice(start, this.pos)}`;
  }

  private singleQuoted(): string {
    this.pos++;
    const quote = this.options.rawQuotes ? "'" : '';
    const close = this.raw.indexOf("'", this.pos);
    if (close === -1) {
      this.pos = this.raw.length;
      throw new UserError('unexpected end of statement while looking for matching single-quote');
    }
    const text = this.raw.slice(this.pos, close);
    this.pos = close + 1;
    return quote + text + quote;
  }

  private doubleQuoted(): string {
    this.pos++;
    const quote = this.options.rawQuotes ? '"' : '';
    let text = quote;
    for (;;) {
      text += this.quotedRun();
      const ch = this.peek();
      if (ch === undefined) throw new UserError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.pos++;
        return text + quote;
      }
      if (ch === '$') {
        text += this.dollar();
        continue;
      }
      this.pos += ch.length;
      if (ch === this.escape) {
        if (this.rawEscapes) text += ch;
        const escaped = this.peek();
        if (escaped === undefined) continue;
        if (escaped === '"' || escaped === '$' || escaped === this.escape) {
          this.pos++;
          text += escaped;
          continue;
        }
        if (this.rawEscapes) continue;
      }
      text += ch;
    }
  }

  /** The characters from here that mean nothing inside double quotes. */
  private quotedRun(): string {
    const { raw } = this;
    const start = this.pos;
    let end = start;
    while (end < raw.length && raw[end] !== '"' && raw[end] !== '$' && raw[end] !== this.escape) end++;
    this.pos = end;
    return raw.slice(start, end);
  }

  /** `$…` at the current position. */
  private dollar(): string {
    this.pos++;
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.lookup(name) ?? (this.options.keepUnset ? `$${name}` : '');
    }
    this.pos++;
    if (++this.depth > MAX_DEPTH) throw new UserError(`substitutions nested more than ${MAX_DEPTH} deep`);
    try {
      return this.braced();
    } finally {
      this.depth--;
    }
  }

  /** `${…}` after the `${`. */
  private braced(): string {
    const first = this.peek();
    if (first === undefined) throw new UserError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new UserError('syntax error: bad substitution');
    const name = this.name();
    const op = this.next();
    if (op === undefined) throw new UserError("syntax error: missing '}'");
    if (op === '}') return this.lookup(name) ?? (this.options.keepUnset ? `\${${name}}` : '');
    if (op === '/') return this.replace(name);
    const colon = op === ':';
    const modifier = colon ? (this.next() ?? '') : op;
    const written = `${colon ? ':' : ''}${modifier}`;
    if (!colon && !'+-?#%'.includes(modifier)) throw new UserError(`unsupported modifier (${written}) in substitution`);
    const isPattern = modifier === '#' || modifier === '%';
    if (colon && isPattern) throw new UserError(`unsupported modifier (${written}) in substitution`);
    const word = this.until('}', isPattern, "syntax error: missing '}'").text;
    const value = this.lookup(name);
    if (value === undefined && this.options.keepUnset) return `\${${name}${written}${word}}`;
    const unset = value === undefined || (colon && value === '');
    switch (modifier) {
      case '-':
        return unset ? word : (value ?? '');
      case '+':
        return unset ? '' : word;
      case '?':
        if (unset) {
          const fallback = value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty';
          throw new UserError(`${name}: ${word || fallback}`);
        }
        return value ?? '';
      case '#':
      case '%': {
        const longest = word.startsWith(modifier);
        const glob = compileGlob(longest ? word.slice(1) : word, this.escape);
        const subject = value ?? '';
        return modifier === '#' ? removePrefix(subject, glob, longest) : removeSuffix(subject, glob, longest);
      }
      default:
        throw new UserError(`unsupported modifier (${written}) in substitution`);
    }
  }

  /** `${name/pattern/replacement}` or `${name//pattern/replacement}`, after the first `/`. */
  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.pos++;
    const pattern = this.until('/', true, "syntax error: missing '/' in ${}").text;
    const replacement = this.until('}', true, "syntax error: missing '}'").text;
    const value = this.lookup(name);
    if (value === undefined && this.options.keepUnset) return `\${${name}/${pattern}/${replacement}}`;
    return replaceMatches(value ?? '', compileGlob(pattern, this.escape), replacement, all);
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

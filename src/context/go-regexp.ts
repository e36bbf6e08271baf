/**
 * Compiles the regular expressions `.dockerignore` patterns turn into, which
 * are written in Go's RE2 syntax, into equivalent JavaScript RegExps.
 *
 * patternmatcher builds a Go regexp from each pattern and copies `[...]`
 * classes and `\x` escapes into it as they are, so what a pattern means
 * depends on Go's regexp parser: `[[:digit:]]` is a POSIX class, `\d` a digit,
 * `[l-O]` an error. This translates the Go syntax those regexps can contain
 * (literals, escapes, classes with ranges, POSIX and Perl classes, `.`, `^`,
 * `$`, groups and the `* + ?` repetitions) and reproduces Go's errors, so the
 * same patterns match the same paths and the same patterns fail. The one
 * thing left out is Unicode property classes (`\pL`, `\p{Greek}`): they are
 * reported as unsupported rather than guessed.
 *
 * Matching runs on code points (the `u` flag), as Go runs on runes; `.` is
 * "anything but newline", as in Go without the `s` flag.
 */
import { BadPatternError } from './go-match.ts';

type Range = readonly [lo: number, hi: number];

const MAX_RUNE = 0x10ffff;

const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

const SIMPLE_ESCAPES: Record<string, number> = { a: 0x07, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };

/** Compiles Go regexp source into a RegExp with the same matches; throws BadPatternError where Go's regexp.Compile fails. */
export function compileGoRegexp(source: string): RegExp {
  const js = new Translator(source).translate();
  try {
    return new RegExp(js, 'u');
  } catch (e) {
    throw new BadPatternError(source, `invalid regexp ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
}

class Translator {
  private readonly chars: string[];
  private i = 0;

  constructor(private readonly source: string) {
    this.chars = Array.from(source);
  }

  translate(): string {
    let out = '';
    let depth = 0;
    // what the last item was: nothing to repeat, something repeatable, or a repetition already
    let last: 'none' | 'atom' | 'repeat' = 'none';
    while (this.i < this.chars.length) {
      const c = this.chars[this.i++] as string;
      if (c === '*' || c === '+' || c === '?') {
        if (last === 'none') this.fail(`missing argument to repetition operator: ${c}`);
        if (last === 'repeat') {
          // only a single `?` after a repetition (non-greedy) is allowed
          if (c !== '?' || out.endsWith('?')) this.fail(`invalid nested repetition operator: ${c}`);
        }
        out += c;
        last = 'repeat';
        continue;
      }
      last = 'atom';
      switch (c) {
        case '\\': {
          const piece = this.escape();
          if (piece === '^' || piece === '$' || piece === '\\b' || piece === '\\B') last = 'none';
          out += piece;
          break;
        }
        case '[':
          out += emitClass(this.parseClass());
          break;
        case '(':
          if (this.chars[this.i] === '?') this.fail('group flags and named groups are not supported');
          depth++;
          out += '(?:';
          last = 'none';
          break;
        case ')':
          if (depth === 0) this.fail('unexpected )');
          depth--;
          out += ')';
          break;
        case '|':
          out += '|';
          last = 'none';
          break;
        case '.':
          out += '[^\\n]';
          break;
        case '^':
        case '$':
          out += c;
          break;
        default:
          out += literal(c.codePointAt(0) as number);
      }
    }
    if (depth > 0) this.fail('missing closing )');
    return out;
  }

  /** After a `\` outside a class: assertions, Perl classes, \Q…\E, or a single-character escape. */
  private escape(): string {
    const c = this.chars[this.i];
    switch (c) {
      case 'A':
        this.i++;
        return '^';
      case 'z':
        this.i++;
        return '$';
      case 'b':
      case 'B':
        this.i++;
        return `\\${c}`;
      case 'Q': {
        this.i++;
        let text = '';
        while (this.i < this.chars.length && !(this.chars[this.i] === '\\' && this.chars[this.i + 1] === 'E')) {
          text += literal((this.chars[this.i++] as string).codePointAt(0) as number);
        }
        if (this.i < this.chars.length) this.i += 2;
        return text === '' ? '(?:)' : `(?:${text})`;
      }
    }
    const perl = this.perlClass();
    if (perl) return emitClass(perl);
    return literal(this.escapedChar());
  }

  /** `\d \s \w` and their negations, at the current position (just after the `\`). */
  private perlClass(): Range[] | undefined {
    const c = this.chars[this.i];
    if (c === undefined) return undefined;
    const ranges = PERL_CLASSES[c.toLowerCase()];
    if (!ranges || !'dswDSW'.includes(c)) return undefined;
    this.i++;
    return c === c.toUpperCase() ? negate(ranges) : ranges;
  }

  /** A single-character escape, just after its `\`: Go's parseEscape. */
  private escapedChar(): number {
    const c = this.chars[this.i++];
    if (c === undefined) this.fail('trailing backslash at end of expression');
    const code = c.codePointAt(0) as number;
    if (c === 'p' || c === 'P') this.fail(`Unicode classes such as \\${c}{…} are not supported`);
    if (c >= '0' && c <= '7') {
      const next = this.chars[this.i];
      if (c !== '0' && !(next !== undefined && next >= '0' && next <= '7')) this.fail(`invalid escape sequence \\${c}`);
      let value = code - 0x30;
      for (let n = 1; n < 3 && this.isOctal(this.chars[this.i]); n++) value = value * 8 + ((this.chars[this.i++] as string).codePointAt(0) as number) - 0x30;
      return value;
    }
    if (c === 'x') return this.hexEscape();
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) return simple;
    if (code < 0x80 && !/[0-9A-Za-z]/.test(c)) return code;
    return this.fail(`invalid escape sequence \\${c}`);
  }

  private isOctal(c: string | undefined): boolean {
    return c !== undefined && c >= '0' && c <= '7';
  }

  /** `\xHH` or `\x{H…}`, just after the `x`. */
  private hexEscape(): number {
    const hex = (c: string | undefined): number => (c !== undefined && /^[0-9A-Fa-f]$/.test(c) ? parseInt(c, 16) : -1);
    if (this.chars[this.i] === '{') {
      this.i++;
      let value = 0;
      let digits = 0;
      while (hex(this.chars[this.i]) >= 0) {
        value = value * 16 + hex(this.chars[this.i++]);
        digits++;
        if (value > MAX_RUNE) this.fail('invalid escape sequence: \\x{…} beyond U+10FFFF');
      }
      if (digits === 0 || this.chars[this.i++] !== '}') this.fail('invalid escape sequence \\x{');
      return value;
    }
    const hi = hex(this.chars[this.i++]);
    const lo = hex(this.chars[this.i++]);
    if (hi < 0 || lo < 0) this.fail('invalid escape sequence \\x');
    return hi * 16 + lo;
  }

  /** A `[...]` class, just after its `[`: Go's parseClass with Perl flags. */
  private parseClass(): { ranges: Range[]; negated: boolean } {
    const negated = this.chars[this.i] === '^';
    if (negated) this.i++;
    const ranges: Range[] = [];
    for (let first = true; first || this.chars[this.i] !== ']'; first = false) {
      if (this.i >= this.chars.length) this.fail('missing closing ]');
      const posix = this.posixClass();
      if (posix) {
        ranges.push(...posix);
        continue;
      }
      if (this.chars[this.i] === '\\') {
        this.i++;
        const perl = this.perlClass();
        if (perl) {
          ranges.push(...perl);
          continue;
        }
        this.i--;
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.chars[this.i] === '-' && this.i + 1 < this.chars.length && this.chars[this.i + 1] !== ']') {
        this.i++;
        hi = this.classChar();
        if (hi < lo) this.fail('invalid character class range');
      }
      ranges.push([lo, hi]);
    }
    this.i++;
    return { ranges, negated };
  }

  /** `[:name:]` or `[:^name:]` inside a class; undefined when the text there is not one. */
  private posixClass(): Range[] | undefined {
    if (this.chars[this.i] !== '[' || this.chars[this.i + 1] !== ':') return undefined;
    const rest = this.chars.slice(this.i + 2).join('');
    const end = rest.indexOf(':]');
    if (end < 0) return undefined;
    const name = rest.slice(0, end);
    const ranges = POSIX_CLASSES[name.startsWith('^') ? name.slice(1) : name];
    if (!ranges) this.fail(`invalid character class range [:${name}:]`);
    this.i += 2 + Array.from(name).length + 2;
    return name.startsWith('^') ? negate(ranges) : ranges;
  }

  private classChar(): number {
    const c = this.chars[this.i];
    if (c === undefined) this.fail('missing closing ]');
    this.i++;
    return c === '\\' ? this.escapedChar() : (c.codePointAt(0) as number);
  }

  private fail(why: string): never {
    throw new BadPatternError(this.source, `invalid regexp ${JSON.stringify(this.source)}: ${why}`);
  }
}

function negate(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function emitClass(cls: Range[] | { ranges: Range[]; negated: boolean }): string {
  const { ranges, negated } = Array.isArray(cls) ? { ranges: cls, negated: false } : cls;
  const body = ranges.map(([lo, hi]) => (lo === hi ? hexChar(lo) : `${hexChar(lo)}-${hexChar(hi)}`)).join('');
  return `[${negated ? '^' : ''}${body}]`;
}

function hexChar(code: number): string {
  return `\\u{${code.toString(16)}}`;
}

function literal(code: number): string {
  const c = String.fromCodePoint(code);
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : code < 0x20 || code === 0x7f ? hexChar(code) : c;
}

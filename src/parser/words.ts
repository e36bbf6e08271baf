/**
 * The ways BuildKit cuts an instruction's arguments into words. Each
 * function reads the argument text `rest` of a logical line and returns words
 * whose values are raw source text (except JSON strings and flags, which are
 * decoded) and whose ranges point into the original file.
 */
import type { Flag, Word } from './ast.ts';
import type { EscapeChar } from './directives.ts';
import type { LogicalLine } from './logical.ts';
import { isSpaceChar } from '../shell/space.ts';

/** Logical characters [start, end) of one word. */
export interface Span {
  start: number;
  end: number;
}

/** Characters [start, end) of a logical line: an instruction's arguments. */
export interface ArgText {
  line: LogicalLine;
  start: number;
  end: number;
  escapeChar: EscapeChar;
}

/** Go's unicode.IsSpace, which BuildKit uses to trim and to split quote-aware words. */
export const isSpace = isSpaceChar;

/** The blanks of BuildKit's `reWhitespace` (`[\t\v\f\r ]`), used for plain splitting. */
export const isSplitBlank = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r';

/** The whole argument text as one word (WORKDIR, USER, shell-form commands, legacy ENV values). */
export function wholeWord(rest: ArgText): Word {
  return rest.line.word(rest.start, rest.end);
}

/** The raw word a span covers. */
export function spanWord(rest: ArgText, span: Span): Word {
  return rest.line.word(span.start, span.end);
}

/** Splits on runs of blanks; quotes mean nothing (FROM, EXPOSE, shell-form COPY/ADD/VOLUME). */
export function splitOnBlanks(rest: ArgText): Span[] {
  const { line, end } = rest;
  const text = line.text;
  const words: Span[] = [];
  let i = rest.start;
  while (i < end) {
    while (i < end && isSplitBlank(text[i])) i++;
    const start = i;
    while (i < end && !isSplitBlank(text[i])) i++;
    if (i > start) words.push({ start, end: i });
  }
  return words;
}

/**
 * Splits on whitespace outside quotes, keeping quotes and escape chars in
 * the words (ENV, LABEL, ARG). Inside `'…'` the escape char is literal; an
 * escape char at the very end of the text is dropped.
 */
export function splitQuoteAware(rest: ArgText): Span[] {
  const { line, end, escapeChar } = rest;
  const text = line.text;
  const words: Span[] = [];
  let i = rest.start;
  while (i < end) {
    while (i < end && isSpace(text[i])) i++;
    if (i >= end) break;
    const start = i;
    let quote: string | undefined;
    let wordEnd = end;
    for (; i < end; i++) {
      const c = text[i];
      if (quote === undefined && isSpace(c)) break;
      if (c === escapeChar && quote !== "'") {
        if (i + 1 === end) {
          wordEnd = i;
          continue;
        }
        i++;
        continue;
      }
      if (quote === undefined && (c === '"' || c === "'")) quote = c;
      else if (c === quote) quote = undefined;
    }
    if (i < end) wordEnd = i;
    if (wordEnd > start) words.push({ start, end: wordEnd });
  }
  return words;
}

/**
 * The exec/JSON form: when the text starts with `[` and is a valid JSON
 * array of strings, one decoded word per element; `undefined` when it is not
 * JSON at all (the caller falls back to the shell form). Throws a
 * UserError for a JSON array holding something else.
 */
export function parseJsonArray(rest: ArgText): Word[] | undefined {
  const { line, end } = rest;
  let start = rest.start;
  while (start < end && isSpace(line.text[start])) start++;
  if (line.text[start] !== '[') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.text.slice(start, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const values: unknown[] = parsed;
  if (!values.every((v): v is string => typeof v === 'string')) {
    throw line.error('when using JSON array syntax, arrays must be comprised of strings only', start, {
      hint: 'quote every element: ["cmd", "arg"]',
    });
  }
  const spans = stringLiteralSpans(line.text, start, end);
  return values.map((value, k) => {
    const span = spans[k] ?? [start, end];
    return line.word(span[0], span[1], value);
  });
}

/** [start, end) of each `"…"` literal (quotes included) in text known to be a JSON array of strings. */
function stringLiteralSpans(text: string, start: number, end: number): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (let open = text.indexOf('"', start); open !== -1 && open < end; open = text.indexOf('"', open + 1)) {
    let close = text.indexOf('"', open + 1);
    while (close !== -1 && escapedQuote(text, close)) close = text.indexOf('"', close + 1);
    if (close === -1) break;
    spans.push([open, close + 1]);
    open = close;
  }
  return spans;
}

/** Whether the quote at `i` is preceded by an odd number of backslashes. */
function escapedQuote(text: string, i: number): boolean {
  let k = i - 1;
  while (text[k] === '\\') k--;
  return (i - 1 - k) % 2 === 1;
}

export interface FlagScan {
  flags: Flag[];
  /** Where the arguments after the flags start. */
  restStart: number;
}

/**
 * Reads the leading `--name[=value]` words. Inside a flag word quotes are
 * removed and the escape char escapes the next char; a bare `--` ends the
 * flags and is dropped. Stops at the first word not starting with `--`.
 */
export function extractFlags(rest: ArgText): FlagScan {
  const { line, end } = rest;
  const text = line.text;
  const flags: Flag[] = [];
  let i = rest.start;
  for (;;) {
    while (i < end && isSpace(text[i])) i++;
    if (i >= end || text[i] !== '-' || text[i + 1] !== '-') return { flags, restStart: i };
    const start = i;
    const { word, wordEnd, valueStart } = flagWordAt(rest, start);
    i = wordEnd;
    if (word === '--') {
      while (i < end && isSpace(text[i])) i++;
      return { flags, restStart: i };
    }
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const flag: Flag = {
      name: eq === -1 ? body : body.slice(0, eq),
      value: eq === -1 ? undefined : body.slice(eq + 1),
      range: line.range(start, i),
    };
    if (flag.value !== undefined) flag.valueRange = line.range(valueStart === -1 ? i : Math.min(valueStart, i), i);
    flags.push(flag);
  }
}

/**
 * The flag word starting at `start`, quotes removed and escapes applied;
 * where it ends; and the logical index just past its first `=` (-1 if none).
 */
function flagWordAt(rest: ArgText, start: number): { word: string; wordEnd: number; valueStart: number } {
  const { line, end, escapeChar } = rest;
  const text = line.text;
  let plainEnd = start;
  while (plainEnd < end) {
    const c = text[plainEnd];
    if (c === '"' || c === "'" || c === escapeChar || isSpace(c)) break;
    plainEnd++;
  }
  if (plainEnd === end || isSpace(text[plainEnd])) {
    const word = text.slice(start, plainEnd);
    const eq = word.indexOf('=');
    return { word, wordEnd: plainEnd, valueStart: eq === -1 ? -1 : start + eq + 1 };
  }
  let word = '';
  let quote: string | undefined;
  let valueStart = -1;
  let i = start;
  for (; i < end; i++) {
    const c = text[i] ?? '';
    if (quote === undefined && isSpace(c)) break;
    if (quote === undefined && (c === '"' || c === "'")) {
      quote = c;
      continue;
    }
    if (c === quote) {
      quote = undefined;
      continue;
    }
    if (c === escapeChar) {
      if (i + 1 === end) continue;
      i++;
    }
    const ch = text[i] ?? '';
    if (valueStart === -1 && ch === '=') valueStart = i + 1;
    word += ch;
  }
  return { word, wordEnd: i, valueStart };
}

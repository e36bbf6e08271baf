/**
 * The physical layer of a Dockerfile as Chevrotain tokens, one per line:
 * blank lines, comment lines, lines continued by the escape char, and other
 * lines. Each token's image is the whole line, line break included; words
 * are cut later, from the joined logical line, as BuildKit does. One token
 * per line keeps memory low on files of many short lines.
 *
 * Which character continues a line depends on the `# escape=` directive, so
 * there is one lexer mode per escape character; the continued-line and
 * text-line tokens of both modes share a category so the parser does not
 * care which mode produced them. Every token also belongs to `AnyLine`,
 * which the parser uses to step over heredoc bodies.
 */
import { createToken, Lexer, type CustomPatternMatcherFunc, type IToken, type TokenType } from 'chevrotain';
import { isSpaceCode } from '../shell/space.ts';
import type { EscapeChar } from './directives.ts';

const BOM = '\uFEFF';

/** Past the indentation at `offset`: whitespace other than a line break (Go's unicode.IsSpace, as BuildKit trims with it). */
export function indentEnd(text: string, offset: number): number {
  let i = offset;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || !isSpaceCode(c)) break;
    i++;
  }
  return i;
}

/** Offset just past the line starting at `offset`: after its `\n`, or the end of the text. */
function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
}

/** Where the content of the line [offset, end) stops: before its `\n` and the carriage returns before it. */
export function contentEnd(text: string, offset: number, end: number): number {
  let e = end;
  if (e > offset && text[e - 1] === '\n') e--;
  while (e > offset && text[e - 1] === '\r') e--;
  return e;
}

/**
 * Where the escape char that continues the line [offset, end) sits, or -1:
 * the escape char followed only by spaces and tabs up to the end of the
 * content, not preceded by another escape char (`a\\` keeps both), as
 * BuildKit's continuation regex requires.
 */
export function continuationAt(text: string, offset: number, end: number, escape: EscapeChar): number {
  let k = contentEnd(text, offset, end);
  while (k > offset && (text[k - 1] === ' ' || text[k - 1] === '\t')) k--;
  const at = k - 1;
  if (at < offset || text[at] !== escape || (at > 0 && text[at - 1] === escape)) return -1;
  return at;
}

const bomMatcher: CustomPatternMatcherFunc = (text, offset) => (offset === 0 && text.startsWith(BOM) ? [BOM] : null);

/** Indentation then the end of the line. */
const blankMatcher: CustomPatternMatcherFunc = (text, offset) => {
  const i = indentEnd(text, offset);
  return i === text.length || text[i] === '\n' ? [text.slice(offset, lineEnd(text, offset))] : null;
};

/** Indentation then `#`: skipped wherever it is, even inside a continued instruction. */
const commentMatcher: CustomPatternMatcherFunc = (text, offset) =>
  text[indentEnd(text, offset)] === '#' ? [text.slice(offset, lineEnd(text, offset))] : null;

function continuedMatcher(escape: EscapeChar): CustomPatternMatcherFunc {
  return (text, offset) => {
    const end = lineEnd(text, offset);
    return continuationAt(text, offset, end, escape) === -1 ? null : [text.slice(offset, end)];
  };
}

const textMatcher: CustomPatternMatcherFunc = (text, offset) =>
  offset < text.length ? [text.slice(offset, lineEnd(text, offset))] : null;

/** The category of every line. */
export const AnyLine = createToken({ name: 'AnyLine', pattern: Lexer.NA });
/** A line continued by the escape char. */
export const ContinuedLine = createToken({ name: 'ContinuedLine', pattern: Lexer.NA });
/** A line with content that is not continued: it ends an instruction. */
export const TextLine = createToken({ name: 'TextLine', pattern: Lexer.NA });
const Bom = createToken({ name: 'Bom', pattern: bomMatcher, group: Lexer.SKIPPED, start_chars_hint: [BOM], line_breaks: false });
export const BlankLine = createToken({ name: 'BlankLine', pattern: blankMatcher, line_breaks: true, categories: [AnyLine] });
export const CommentLine = createToken({ name: 'CommentLine', pattern: commentMatcher, line_breaks: true, categories: [AnyLine] });

function modeTokens(escape: EscapeChar, name: string): TokenType[] {
  const continued = createToken({
    name: `${name}ContinuedLine`,
    pattern: continuedMatcher(escape),
    categories: [ContinuedLine, AnyLine],
    line_breaks: true,
  });
  const text = createToken({ name: `${name}TextLine`, pattern: textMatcher, categories: [TextLine, AnyLine], line_breaks: true });
  return [Bom, BlankLine, CommentLine, continued, text];
}

let modes: { backslash: TokenType[]; backtick: TokenType[] } | undefined;

/** The token types of both modes, made on first use so that loading the module costs nothing. */
function lexerModes(): { backslash: TokenType[]; backtick: TokenType[] } {
  modes ??= { backslash: modeTokens('\\', 'Backslash'), backtick: modeTokens('`', 'Backtick') };
  return modes;
}

/** Every token type the parser may see. */
export function allTokens(): TokenType[] {
  const { backslash, backtick } = lexerModes();
  return [...new Set([AnyLine, ContinuedLine, TextLine, ...backslash, ...backtick])];
}

let lexer: Lexer | undefined;

/**
 * Splits `text` into line tokens. Never fails: every line is one of the
 * kinds (the BOM is skipped).
 */
export function lexDockerfile(text: string, escape: EscapeChar): IToken[] {
  lexer ??= new Lexer(
    { modes: lexerModes(), defaultMode: 'backslash' },
    { positionTracking: 'onlyOffset', ensureOptimizations: false, skipValidations: true },
  );
  const result = lexer.tokenize(text, escape === '`' ? 'backtick' : 'backslash');
  if (result.errors.length > 0) {
    throw new Error(`lexer bug: ${result.errors[0]?.message ?? ''}`);
  }
  return result.tokens;
}

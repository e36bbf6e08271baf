/**
 * The physical layer of a Dockerfile as Chevrotain tokens: line breaks,
 * comment lines, line continuations, blanks and runs of other text.
 *
 * Which character continues a line depends on the `# escape=` directive, so
 * there is one lexer mode per escape character; the Text and Continuation
 * tokens of both modes share a category so the parser does not care which
 * mode produced them.
 */
import { createToken, Lexer, type CustomPatternMatcherFunc, type IToken, type TokenType } from 'chevrotain';
import type { EscapeChar } from './directives.ts';

const isBlank = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r';

/** True when only blanks sit between the start of the line and `offset`. */
function atLineStart(text: string, offset: number): boolean {
  let i = offset - 1;
  while (i >= 0 && isBlank(text[i])) i--;
  return i < 0 || text[i] === '\n' || (i === 0 && text[0] === '\uFEFF');
}

/**
 * End of a continuation starting at `offset` (the escape char followed only
 * by blanks up to the end of the line), or -1. BuildKit does not treat an
 * escape char preceded by another one as a continuation: `a\\` keeps both.
 */
function continuationEnd(text: string, offset: number, escape: EscapeChar): number {
  if (text[offset] !== escape) return -1;
  if (offset > 0 && text[offset - 1] === escape) return -1;
  let i = offset + 1;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i++;
  return i === text.length || text[i] === '\n' ? i : -1;
}

const matched = (text: string, start: number, end: number) =>
  end > start ? ([text.slice(start, end)] as [string]) : null;

const bomMatcher: CustomPatternMatcherFunc = (text, offset) =>
  offset === 0 && text.startsWith('\uFEFF') ? ['\uFEFF'] : null;

const commentMatcher: CustomPatternMatcherFunc = (text, offset) => {
  if (text[offset] !== '#' || !atLineStart(text, offset)) return null;
  const nl = text.indexOf('\n', offset);
  let end = nl === -1 ? text.length : nl;
  while (end > offset && text[end - 1] === '\r') end--;
  return [text.slice(offset, end)];
};

function continuationMatcher(escape: EscapeChar): CustomPatternMatcherFunc {
  return (text, offset) => matched(text, offset, continuationEnd(text, offset, escape));
}

function textMatcher(escape: EscapeChar): CustomPatternMatcherFunc {
  return (text, offset) => {
    let i = offset;
    while (i < text.length) {
      const c = text[i];
      if (c === '\n' || isBlank(c) || continuationEnd(text, i, escape) !== -1) break;
      i++;
    }
    return matched(text, offset, i);
  };
}

const Bom = createToken({ name: 'Bom', pattern: bomMatcher, group: Lexer.SKIPPED, start_chars_hint: ['\uFEFF'], line_breaks: false });
export const Newline = createToken({ name: 'Newline', pattern: /\r*\n/, line_breaks: true });
export const Blank = createToken({ name: 'Blank', pattern: /[ \t\v\f\r]+/, line_breaks: false });
export const Comment = createToken({ name: 'Comment', pattern: commentMatcher, start_chars_hint: ['#'], line_breaks: false });
export const Continuation = createToken({ name: 'Continuation', pattern: Lexer.NA });
export const Text = createToken({ name: 'Text', pattern: Lexer.NA });

function modeTokens(escape: EscapeChar, name: string): TokenType[] {
  const continuation = createToken({
    name: `${name}Continuation`,
    pattern: continuationMatcher(escape),
    start_chars_hint: [escape],
    categories: [Continuation],
    line_breaks: false,
  });
  const text = createToken({
    name: `${name}Text`,
    pattern: textMatcher(escape),
    categories: [Text],
    line_breaks: false,
  });
  return [Bom, Newline, Comment, continuation, Blank, text];
}

const modes = { backslash: modeTokens('\\', 'Backslash'), backtick: modeTokens('`', 'Backtick') };

/** Every token type the parser may see. */
export const allTokens: TokenType[] = [...new Set([Continuation, Text, ...modes.backslash, ...modes.backtick])];

let lexer: Lexer | undefined;

/**
 * Splits `text` into physical tokens. Never fails: every character belongs
 * to some token (the BOM is skipped).
 */
export function lexDockerfile(text: string, escape: EscapeChar): IToken[] {
  lexer ??= new Lexer(
    { modes, defaultMode: 'backslash' },
    { positionTracking: 'onlyOffset', ensureOptimizations: false },
  );
  const result = lexer.tokenize(text, escape === '`' ? 'backtick' : 'backslash');
  if (result.errors.length > 0) {
    throw new Error(`lexer bug: ${result.errors[0]?.message ?? ''}`);
  }
  return result.tokens;
}

/**
 * The generic shape every instruction shares before it is given meaning:
 * keyword, leading flags, and the argument text after them.
 */
import type { Flag, Range, Word } from './ast.ts';
import type { EscapeChar } from './directives.ts';
import { LogicalLine } from './logical.ts';
import type { SourceText } from './source.ts';
import type { PhysicalInstruction } from './structure.ts';
import { extractFlags, isSpace, type ArgText } from './words.ts';

export interface RawInstruction {
  keyword: Word;
  flags: Flag[];
  /** Everything after the flags, trimmed. */
  args: ArgText;
  range: Range;
}

const isKeywordEnd = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r';

/**
 * Joins an instruction's pieces into its logical line and splits off the
 * keyword (the first blank-delimited word, as in BuildKit, even when a
 * continuation cuts through it) and the flags. Returns undefined for a line
 * that is empty once joined (a lone continuation char at the end of a file).
 */
export function toRawInstruction(
  physical: PhysicalInstruction,
  source: SourceText,
  escapeChar: EscapeChar,
): RawInstruction | undefined {
  const line = new LogicalLine(physical.pieces, source, physical.end);
  const { text } = line;
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  if (start === end) return undefined;
  let keywordEnd = start;
  while (keywordEnd < end && !isKeywordEnd(text[keywordEnd])) keywordEnd++;
  const { flags, restStart } = extractFlags({ line, start: keywordEnd, end, escapeChar });
  return {
    keyword: line.word(start, keywordEnd),
    flags,
    args: { line, start: restStart, end, escapeChar },
    range: source.range(physical.start, physical.end),
  };
}

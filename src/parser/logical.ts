/**
 * A logical line: the text of one instruction with continuations joined,
 * plus the mapping from each of its characters back to the source, so that
 * words cut out of it can be given ranges in the original file.
 */
import type { Range, Word } from './ast.ts';
import type { ErrorMark, SourceText } from './source.ts';
import type { Piece } from './structure.ts';
import type { UserError } from '../errors.ts';

export class LogicalLine {
  readonly text: string;
  /** Index in the logical text where each piece starts... */
  private readonly logicalStarts: number[] = [];
  /** ...and the source offset of that same character. */
  private readonly sourceStarts: number[] = [];

  constructor(
    pieces: readonly Piece[],
    readonly source: SourceText,
    /** Where an empty line's words point: just past the instruction. */
    private readonly fallbackOffset: number,
  ) {
    const only = pieces.length === 1 ? pieces[0] : undefined;
    if (only) {
      this.logicalStarts.push(0);
      this.sourceStarts.push(only.start);
      this.text = source.text.slice(only.start, only.end);
      return;
    }
    const parts: string[] = [];
    let length = 0;
    for (const piece of pieces) {
      this.logicalStarts.push(length);
      this.sourceStarts.push(piece.start);
      parts.push(source.text.slice(piece.start, piece.end));
      length += piece.end - piece.start;
    }
    this.text = parts.join('');
  }

  /** Source offset of logical character `i` (0 ≤ i < text.length). */
  sourceOffset(i: number): number {
    const starts = this.logicalStarts;
    if (starts.length === 0) return this.fallbackOffset;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= i) lo = mid;
      else hi = mid - 1;
    }
    return (this.sourceStarts[lo] ?? 0) + (i - (starts[lo] ?? 0));
  }

  /** Logical index of the character at source `offset` (inverse of `sourceOffset` for offsets inside the line). */
  logicalIndex(offset: number): number {
    const starts = this.sourceStarts;
    if (starts.length === 0) return 0;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return (this.logicalStarts[lo] ?? 0) + (offset - (starts[lo] ?? 0));
  }

  /** Source range of logical characters [start, end); an empty span is a point. */
  range(start: number, end: number): Range {
    if (this.text.length === 0) return this.source.range(this.fallbackOffset, this.fallbackOffset);
    if (end <= start) {
      const at = start < this.text.length ? this.sourceOffset(start) : this.sourceOffset(this.text.length - 1) + 1;
      return this.source.range(at, at);
    }
    return this.source.range(this.sourceOffset(start), this.sourceOffset(end - 1) + 1);
  }

  /** The word made of logical characters [start, end); `value` defaults to that text. */
  word(start: number, end: number, value: string = this.text.slice(start, end)): Word {
    return { value, range: this.range(start, end) };
  }

  /** A UserError pointing at logical character `i`. */
  error(message: string, i: number, mark?: ErrorMark): UserError {
    return this.source.error(message, this.range(i, i).start.offset, mark);
  }
}

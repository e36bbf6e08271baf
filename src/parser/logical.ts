/**
 * A logical line: the text of one instruction with continuations joined,
 * plus the mapping from each of its characters back to the source, so that
 * words cut out of it can be given ranges in the original file.
 */
import type { IToken } from 'chevrotain';
import type { Range, Word } from './ast.ts';
import type { SourceText } from './source.ts';
import type { UserError } from '../errors.ts';

interface Segment {
  /** Index in the logical text where this piece starts. */
  logical: number;
  /** Source offset of the same character. */
  source: number;
}

export class LogicalLine {
  readonly text: string;
  private readonly segments: Segment[] = [];

  constructor(
    pieces: readonly IToken[],
    readonly source: SourceText,
    /** Where an empty line's words point: just past the instruction. */
    private readonly fallbackOffset: number,
  ) {
    let text = '';
    for (const piece of pieces) {
      this.segments.push({ logical: text.length, source: piece.startOffset });
      text += piece.image;
    }
    this.text = text;
  }

  /** Source offset of logical character `i` (0 ≤ i < text.length). */
  sourceOffset(i: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.segments[mid]?.logical ?? 0) <= i) lo = mid;
      else hi = mid - 1;
    }
    const seg = this.segments[lo];
    return seg ? seg.source + (i - seg.logical) : this.fallbackOffset;
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
  error(message: string, i: number): UserError {
    return this.source.error(message, this.range(i, i).start.offset);
  }
}

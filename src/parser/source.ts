/**
 * Offsets → line/column for one Dockerfile's text.
 *
 * Everything downstream of the lexer works with 0-based offsets into the
 * original text (so continuations and removed comments never distort
 * positions); this module is the single place that turns them into the
 * 1-based line/column pairs users see, and into errors that show the line.
 */
import type { Position, Range } from './ast.ts';
import { UserError } from '../errors.ts';

const BOM = '\uFEFF';

/** What an error adds to its message: how much to underline and a hint. */
export interface ErrorMark {
  /** Characters to underline from the error's offset; 1 when absent. */
  width?: number;
  hint?: string;
}

export class SourceText {
  /** Offset of the first character of each line. */
  private readonly lineStarts: number[] = [0];
  /** 1 when the text starts with a BOM: editors do not show it, so columns on line 1 skip it. */
  readonly bomLength: number;
  /** The line of the last lookup: positions are mostly asked for in source order. */
  private lastLine = 0;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
      this.lineStarts.push(i + 1);
    }
    this.bomLength = text.startsWith(BOM) ? 1 : 0;
  }

  /** 0-based index of the line holding `offset`. */
  private lineIndex(offset: number): number {
    const starts = this.lineStarts;
    const last = this.lastLine;
    if ((starts[last] ?? 0) <= offset && (last + 1 >= starts.length || (starts[last + 1] ?? 0) > offset)) return last;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    this.lastLine = lo;
    return lo;
  }

  /** The position of `offset` (0 ≤ offset ≤ text.length). */
  position(offset: number): Position {
    const index = this.lineIndex(offset);
    const lineStart = index === 0 ? this.bomLength : (this.lineStarts[index] ?? 0);
    return { line: index + 1, column: Math.max(offset - lineStart, 0) + 1, offset };
  }

  /** The range covering source offsets [start, end). */
  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(end) };
  }

  /** Line `line` (1-based) as written, without its line break (and without the BOM on line 1). */
  lineText(line: number): string {
    const start = line === 1 ? this.bomLength : (this.lineStarts[line - 1] ?? this.text.length);
    const next = this.lineStarts[line];
    let end = next === undefined ? this.text.length : next - 1;
    while (end > start && this.text[end - 1] === '\r') end--;
    return this.text.slice(start, end);
  }

  /** Offset just past the line break ending the line that holds `offset`, or the text's length. */
  nextLineStart(offset: number): number {
    return this.lineStarts[this.lineIndex(offset) + 1] ?? this.text.length;
  }

  /** A UserError pointing at `offset`, showing its line with a caret. */
  error(message: string, offset: number, mark: ErrorMark = {}): UserError {
    const { line, column } = this.position(offset);
    return new UserError(message, { file: this.file, line, column }, { sourceLine: this.lineText(line), ...mark });
  }
}

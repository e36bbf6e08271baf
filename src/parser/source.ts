/**
 * Offsets → line/column for one Dockerfile's text.
 *
 * Everything downstream of the lexer works with 0-based offsets into the
 * original text (so continuations and removed comments never distort
 * positions); this module is the single place that turns them into the
 * 1-based line/column pairs users see.
 */
import type { Position, Range } from './ast.ts';
import { UserError } from '../errors.ts';

const BOM = '\uFEFF';

export class SourceText {
  /** Offset of the first character of each line. */
  private readonly lineStarts: number[] = [0];
  /** 1 when the text starts with a BOM: editors do not show it, so columns on line 1 skip it. */
  readonly bomLength: number;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
      this.lineStarts.push(i + 1);
    }
    this.bomLength = text.startsWith(BOM) ? 1 : 0;
  }

  /** The position of `offset` (0 ≤ offset ≤ text.length). */
  position(offset: number): Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const lineStart = lo === 0 ? this.bomLength : (this.lineStarts[lo] ?? 0);
    return { line: lo + 1, column: Math.max(offset - lineStart, 0) + 1, offset };
  }

  /** The range covering source offsets [start, end). */
  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(end) };
  }

  /** A UserError pointing at `offset`. */
  error(message: string, offset: number): UserError {
    const { line, column } = this.position(offset);
    return new UserError(message, { file: this.file, line, column });
  }
}

/**
 * Errors a user caused (bad Dockerfile, missing COPY source, failing RUN,
 * unreachable registry). The CLI prints them as one line, prefixed with
 * `file:line:col:` when a location is known, and exits non-zero without a
 * stack trace. Anything that is not a UserError is a bug in tsbuild.
 */
export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** What `explain()` shows under the one-line message. */
export interface ErrorDetail {
  /** The line `location` points into, as written (no line break). */
  sourceLine?: string;
  /** How many characters the caret underlines from `location.column`; 1 when absent. */
  width?: number;
  /** A way out: `did you mean COPY?`, the flags an instruction takes... */
  hint?: string;
}

/** Source lines longer than this are shown as a window around the culprit. */
const MAX_SHOWN = 120;

export class UserError extends Error {
  constructor(
    message: string,
    readonly location?: SourceLocation,
    readonly detail?: ErrorDetail,
  ) {
    super(message);
    this.name = 'UserError';
  }

  /** `file:line:col: message`, or just the message when there is no location. */
  format(): string {
    const l = this.location;
    return l ? `${l.file}:${l.line}:${l.column}: ${this.message}` : this.message;
  }

  /**
   * The lines to print after `format()`: the source line with a caret under
   * the culprit, then `hint: …`. Empty when there is nothing to add.
   *
   * ```
   *   2 | COPPY a b
   *     | ^^^^^
   * hint: did you mean COPY?
   * ```
   */
  explain(): string[] {
    const lines: string[] = [];
    const { location, detail } = this;
    if (location && detail?.sourceLine !== undefined) {
      const { shown, column } = window(detail.sourceLine, location.column);
      const gutter = String(location.line);
      const pad = ' '.repeat(gutter.length);
      const width = Math.max(1, Math.min(detail.width ?? 1, shown.length - column + 1));
      const indent = shown.slice(0, column - 1).replace(/[^\t]/g, ' ').padEnd(column - 1);
      lines.push(`  ${gutter} | ${shown}`, `  ${pad} | ${indent}${'^'.repeat(width)}`);
    }
    if (detail?.hint) lines.push(`hint: ${detail.hint}`);
    return lines;
  }
}

/** A long line cut down to the part around `column`, with the column moved to match. */
function window(line: string, column: number): { shown: string; column: number } {
  if (line.length <= MAX_SHOWN) return { shown: line, column };
  const start = Math.max(0, Math.min(column - 1 - MAX_SHOWN / 2, line.length - MAX_SHOWN));
  const prefix = start > 0 ? '…' : '';
  const suffix = start + MAX_SHOWN < line.length ? '…' : '';
  return { shown: prefix + line.slice(start, start + MAX_SHOWN) + suffix, column: column - start + prefix.length };
}

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

export class UserError extends Error {
  constructor(
    message: string,
    readonly location?: SourceLocation,
  ) {
    super(message);
    this.name = 'UserError';
  }

  /** `file:line:col: message`, or just the message when there is no location. */
  format(): string {
    const l = this.location;
    return l ? `${l.file}:${l.line}:${l.column}: ${this.message}` : this.message;
  }
}

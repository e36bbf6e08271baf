/**
 * The first failure among concurrent transfers (a pull's downloads, a
 * push's uploads); it cancels the others, whose own failures (mostly that
 * cancellation) are then dropped.
 */
export class FirstFailure {
  error: unknown;
  private readonly abort = new AbortController();

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Runs `fn`, recording its failure instead of rejecting. */
  async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (this.error === undefined) {
        this.error = e;
        this.abort.abort();
      }
    }
  }
}

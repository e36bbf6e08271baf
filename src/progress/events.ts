/**
 * The one typed event stream of a build. Deep code emits these; renderers
 * (plain, tty, json: see `renderer.ts`) turn them into text. Nothing below
 * the CLI prints. `docs/progress.md` documents each event as the json
 * renderer writes it, and `docs/progress.schema.json` is its exact shape.
 *
 * Steps are numbered from 1 in the order they start (or are found cached);
 * a step's events share its `id`. Transfers (blobs pulled or pushed, files
 * exported) are keyed by a string `id`, usually the blob digest.
 */
export type ProgressEvent =
  /** The plan is known: how many filesystem steps the build has (the `N` of "done/N"). */
  | { type: 'plan'; steps: number }
  /** A step starts running. `label` is `[stage 2/5] RUN make`. */
  | { type: 'step-start'; id: number; label: string }
  /** A step's result came from the cache: it does not run. */
  | { type: 'step-cached'; id: number; label: string }
  /** One line a running step printed, without its line break. */
  | { type: 'step-output'; id: number; line: string; stream: 'stdout' | 'stderr' }
  | { type: 'step-done'; id: number; seconds: number }
  /** The step failed; `exitCode` is the RUN command's, when it ran and exited non-zero. */
  | { type: 'step-error'; id: number; message: string; exitCode?: number }
  /**
   * Bytes moved so far for one transfer. `total` is absent when unknown.
   * Emitted often (renderers throttle); the first one starts the transfer.
   */
  | { type: 'transfer'; id: string; action: TransferAction; name: string; bytes: number; total?: number }
  /**
   * A transfer ended. `how`: `sent` (the bytes moved), `cached` (the store
   * had it), `exists` (the registry had it), `mounted` (linked from `from`,
   * another repository of the same registry).
   */
  | { type: 'transfer-done'; id: string; action: TransferAction; name: string; bytes: number; how: 'sent' | 'cached' | 'exists' | 'mounted'; from?: string }
  /** A line for the user that belongs to no step: `pulling X`, `writing image sha256:…`. */
  | { type: 'info'; message: string }
  | { type: 'warning'; message: string }
  /** The build succeeded; the numbers of the final summary. */
  | { type: 'result'; result: BuildSummary }
  /** The command failed (json mode reports its error this way instead of an `error:` line). */
  | { type: 'error'; message: string; location?: { file: string; line: number; column: number }; hint?: string; exitCode: number };

export type TransferAction = 'pull' | 'push' | 'export';

/** What the final summary tells: the built image and what it took. */
export interface BuildSummary {
  /** The manifest digest (what stdout prints). */
  manifest: string;
  /** The config digest: docker's image ID. */
  config: string;
  /** The names given with `-t`, fully qualified. */
  names: string[];
  /** Bytes of the image's (compressed) layers. */
  size: number;
  layers: number;
  /** Filesystem steps in the plan, and how many of them came from the cache. */
  steps: number;
  cached: number;
  /** Wall time of the whole build. */
  seconds: number;
}

export type ProgressSink = (event: ProgressEvent) => void;

/**
 * A progress display: `sink` takes the build's events as they happen;
 * `finish` ends the display once the command is over (a final frame, the
 * summary on success, the failed steps' output on failure). See
 * `renderer.ts` for the modes.
 */
export interface Renderer {
  sink: ProgressSink;
  finish(outcome: { failed: boolean }): void;
}

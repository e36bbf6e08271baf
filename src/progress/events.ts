/**
 * The one typed event stream of a build. Deep code emits these; renderers
 * (plain, tty, json) turn them into text. Nothing below the CLI prints.
 */
export type ProgressEvent =
  | { type: 'step-start'; id: number; label: string }
  | { type: 'step-cached'; id: number; label: string }
  | { type: 'step-output'; id: number; line: string; stream: 'stdout' | 'stderr' }
  | { type: 'step-done'; id: number; seconds: number }
  | { type: 'step-error'; id: number; message: string }
  | { type: 'info'; message: string };

export type ProgressSink = (event: ProgressEvent) => void;

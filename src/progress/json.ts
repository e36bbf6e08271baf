import type { ProgressEvent, Renderer } from './events.ts';

/**
 * One JSON object per line for tools: each event as `events.ts` types it,
 * with `time` (seconds since the build started, millisecond precision)
 * added first. The shape is documented in docs/progress.md and pinned by
 * docs/progress.schema.json. Nothing else is written; a failure arrives as
 * an `error` event.
 */
export function jsonRenderer(write: (text: string) => void, now: () => number = () => performance.now()): Renderer {
  const started = now();
  return {
    sink: (e: ProgressEvent) => write(`${JSON.stringify({ time: Math.round(now() - started) / 1000, ...e })}\n`),
    finish: () => undefined,
  };
}

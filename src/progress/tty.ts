import type { ChalkInstance } from 'chalk';
import type { ProgressEvent, Renderer } from './events.ts';
import { failureLines, summaryLines } from './report.ts';
import { BuildState } from './state.ts';
import { drawFrame } from './tty-frame.ts';

/** The terminal the view is drawn on: process.stderr when it is a TTY. */
export interface TtyStream {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
}

export interface TtyOptions {
  stream: TtyStream;
  colour: ChalkInstance;
  /** Milliseconds; default performance.now. */
  now?: () => number;
  /** Redraw period in ms (default 100); 0 redraws after every event instead, for tests. */
  interval?: number;
  /** The header's verb (default `Building`). */
  title?: string;
}

const SYNC_START = '\x1b[?2026h';
const SYNC_END = '\x1b[?2026l';
const ERASE_LINE_END = '\x1b[K';
const ERASE_BELOW = '\x1b[J';

/**
 * BuildKit's tty view: the frame of `drawFrame` redrawn in place on a timer
 * (the cursor goes back up over the last frame, each line is rewritten and
 * cleared to its end, leftovers below are erased), inside a synchronized
 * update so terminals that support it never show half a frame. Info and
 * warning lines are printed above the frame and stay. When it finishes, the
 * last frame is drawn whole and stays, followed by the summary or the
 * failed steps' output.
 *
 * On resize the frame is redrawn at once. When the terminal got narrower,
 * it may have re-wrapped the last frame's lines (most terminals reflow), so
 * the cursor goes up by the rows those lines take at the new width: on a
 * terminal that does not reflow this climbs a little too far and overwrites
 * lines above the frame, which is better than leaving stale frames behind.
 */
export function ttyRenderer(opts: TtyOptions): Renderer {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const state = new BuildState(now);
  const stream = opts.stream;
  const pending: string[] = [];
  let last: { widths: number[]; columns: number } | undefined;
  let finished = false;

  const size = (): { width: number; height: number } => ({ width: stream.columns || 80, height: stream.rows || 24 });

  const draw = (final?: { failed: boolean }): void => {
    const { width, height } = size();
    const up = last === undefined ? 0 : width < last.columns ? last.widths.reduce((n, w) => n + Math.max(1, Math.ceil(w / width)), 0) : last.widths.length;
    const frame = drawFrame(state, { now: now(), started, width, height, colour: opts.colour, ...(opts.title !== undefined && { title: opts.title }), ...(final && { final }) });
    if (frame.length === 0 && pending.length === 0 && up === 0) return;
    let out = SYNC_START + (up > 0 ? `\x1b[${up}A` : '') + '\r';
    for (const line of pending.splice(0)) out += `${line}${ERASE_LINE_END}\n`;
    for (const line of frame) out += `${line.text}${ERASE_LINE_END}\n`;
    stream.write(`${out}${ERASE_BELOW}${SYNC_END}`);
    last = final ? undefined : { widths: frame.map((l) => l.width), columns: width };
  };

  const interval = opts.interval ?? 100;
  const timer = interval > 0 ? setInterval(() => draw(), interval) : undefined;
  timer?.unref();
  const onResize = (): void => {
    if (!finished) draw();
  };
  stream.on('resize', onResize);

  const sink = (e: ProgressEvent): void => {
    if (finished) return;
    state.apply(e);
    if (e.type === 'info') pending.push(e.message);
    else if (e.type === 'warning') pending.push(opts.colour.yellow(`warning: ${e.message}`));
    if (interval === 0) draw();
  };
  return {
    sink,
    finish: ({ failed }) => {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      stream.off('resize', onResize);
      draw({ failed });
      const tail = failed ? state.failures().flatMap(failureLines) : state.result ? summaryLines(state.result, { short: true }) : [];
      if (tail.length > 0) stream.write(tail.map((l) => `${l}\n`).join(''));
    },
  };
}

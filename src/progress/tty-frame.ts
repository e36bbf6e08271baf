import type { ChalkInstance } from 'chalk';
import type { BuildState, StepState, TransferState } from './state.ts';
import { fitText, textWidth, visibleText } from './terminal-text.ts';
import { humanRate, humanSeconds, humanSize } from './units.ts';

/** Output lines shown under each running step, as BuildKit does. */
const LIVE_LINES = 6;

export interface FrameOptions {
  /** The renderer's clock (ms) now, and when the build started. */
  now: number;
  started: number;
  /** Terminal columns and rows. */
  width: number;
  height: number;
  /** The last frame: every step, no output lines, no height limit. */
  final?: { failed: boolean };
  /** The header's verb: `Building` (default), `Pulling`, `Pushing`. */
  title?: string;
  colour: ChalkInstance;
}

/** One frame line: its text (coloured) and how many columns it takes. */
export interface FrameLine {
  text: string;
  width: number;
}

/** A step or transfer with the lines it draws; `done` ones may be folded away when space is short. */
interface Block {
  done: boolean;
  head: { label: string; right: string; style: (s: string) => string };
  logs: string[];
}

/**
 * The tty view of a build, BuildKit-style: a header with the elapsed time
 * and steps done/total, then a line per step (`=> CACHED [stage 1/3] COPY …`
 * with its duration right-aligned) and per transfer (bytes, total, rate),
 * each running step followed by its last output lines (`=> => # …`).
 *
 * Every line fits in `width - 1` columns, so none wraps. Unless `final`, the
 * frame also fits in `height - 1` rows: finished steps are folded into one
 * line first, then output lines are dropped, then the oldest running steps.
 * Nothing is drawn before the first step or transfer.
 */
export function drawFrame(state: BuildState, opts: FrameOptions): FrameLine[] {
  if (state.steps.size === 0 && state.transfers.size === 0) return [];
  const c = opts.colour;
  const room = Math.max(1, opts.width - 1);
  const elapsed = humanSeconds((opts.now - opts.started) / 1000);
  const total = state.total ?? state.steps.size;
  const outcome = opts.final ? (opts.final.failed ? ' ERROR' : ' FINISHED') : '';
  const headerText = fitText(`[+] ${opts.title ?? 'Building'} ${elapsed} (${state.finished}/${total})${outcome}`, room);
  const header: FrameLine = { text: opts.final?.failed ? c.bold.red(headerText) : c.bold(headerText), width: textWidth(headerText) };

  const blocks: Block[] = [
    ...[...state.steps.values()].map((s) => stepBlock(s, opts)),
    ...[...state.transfers.values()].map((t) => transferBlock(t, opts)),
  ];
  if (opts.final) return [header, ...blocks.map((b) => line(b.head, room))];

  const maxRows = Math.max(1, opts.height - 1) - 1;
  let logs = LIVE_LINES;
  const rows = (bs: Block[], folded: number): number => (folded > 0 ? 1 : 0) + bs.reduce((n, b) => n + 1 + Math.min(b.logs.length, logs), 0);
  let shown = blocks;
  let folded = 0;
  for (let i = shown.findIndex((b) => b.done); i >= 0 && rows(shown, folded) > maxRows; i = shown.findIndex((b) => b.done)) {
    shown = [...shown.slice(0, i), ...shown.slice(i + 1)];
    folded++;
  }
  while (rows(shown, folded) > maxRows && logs > 0) logs--;
  while (rows(shown, folded) > maxRows && shown.length > 0) {
    shown = shown.slice(1);
    folded++;
  }
  const out: FrameLine[] = [header];
  if (folded > 0 && maxRows > 0) {
    const t = fitText(` => … ${folded} more`, room);
    out.push({ text: c.dim(t), width: textWidth(t) });
  }
  for (const b of shown) {
    out.push(line(b.head, room));
    for (const l of b.logs.slice(-logs || b.logs.length).slice(0, logs)) {
      const t = fitText(` => => # ${l}`, room);
      out.push({ text: c.dim(t), width: textWidth(t) });
    }
  }
  return out.slice(0, Math.max(1, opts.height - 1));
}

/** `label` on the left, `right` right-aligned at the last usable column; the label is cut to fit. */
function line(head: Block['head'], room: number): FrameLine {
  const right = head.right && room >= 20 ? ` ${head.right}` : '';
  const label = fitText(head.label, room - textWidth(right));
  const pad = ' '.repeat(Math.max(0, room - textWidth(label) - textWidth(right)));
  return { text: head.style(label) + pad + head.style(right), width: textWidth(label) + pad.length + textWidth(right) };
}

function stepBlock(s: StepState, opts: FrameOptions): Block {
  const c = opts.colour;
  const seconds = s.seconds ?? (opts.now - s.started) / 1000;
  const status = s.status === 'cached' ? 'CACHED ' : s.status === 'error' ? 'ERROR ' : '';
  const style = s.status === 'error' ? c.red : s.status === 'running' ? (x: string) => x : c.blue;
  return {
    done: s.status !== 'running',
    head: { label: ` => ${status}${visibleText(s.label)}`, right: humanSeconds(seconds), style },
    logs: s.status === 'running' ? s.tail.map(visibleText) : [],
  };
}

function transferBlock(t: TransferState, opts: FrameOptions): Block {
  const c = opts.colour;
  const short = t.id.startsWith('sha256:') ? t.id.slice(0, 'sha256:'.length + 12) : t.id;
  const seconds = ((t.ended ?? opts.now) - t.started) / 1000;
  let what: string;
  if (t.ended === undefined) {
    const of = t.total !== undefined ? ` / ${humanSize(t.total)}` : '';
    const rate = humanRate(t.bytes, seconds);
    what = `${t.action}ing ${short} ${humanSize(t.bytes)}${of}${rate ? ` ${rate}` : ''}`;
  } else if (t.how === 'sent') what = `${t.action === 'push' ? 'pushed' : t.action === 'pull' ? 'pulled' : 'exported'} ${short} ${humanSize(t.bytes)}`;
  else what = `${short} ${t.how === 'cached' ? 'already present' : t.how === 'exists' ? `already in ${t.name}` : 'mounted'}`;
  return {
    done: t.ended !== undefined,
    head: { label: ` => ${visibleText(what)}`, right: humanSeconds(seconds), style: t.ended === undefined ? c.cyan : c.blue },
    logs: [],
  };
}

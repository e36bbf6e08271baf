import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressEvent, Renderer } from './events.ts';
import { failureLines, summaryLines } from './report.ts';
import { BuildState } from './state.ts';
import { humanSize } from './units.ts';

export interface PlainOptions {
  write: (text: string) => void;
  /** Milliseconds; default performance.now. */
  now?: () => number;
  /** Bytes of output one step may print here before the rest goes to a file (default 2 MiB, as BuildKit's log limit). */
  logLimit?: number;
  /** Where those files go (created when the first is needed). */
  spillDir?: string;
}

/** BuildKit's default per-step log limit. */
export const DEFAULT_LOG_LIMIT = 2 * 1024 * 1024;

/**
 * BuildKit's plain progress, for logs and CI: every line of a step starts
 * with `#N`, and groups of lines for different steps are separated by a
 * blank line.
 *
 * ```
 * #3 [stage-0 2/3] RUN make
 * #3 0.123 cc -o app main.c
 * #3 DONE 1.2s
 *
 * #4 [stage-0 3/3] COPY app /usr/bin/
 * #4 CACHED
 * ```
 *
 * Output lines carry the seconds since their step started. Nothing is
 * clipped: once a step has printed `logLimit` bytes, its further lines go
 * to a file under `spillDir`, whose path is printed where the log stops.
 * Transfers print one line when done; lines that belong to no step (info,
 * warnings, the summary) print as they are.
 */
export function plainRenderer(opts: PlainOptions): Renderer {
  const now = opts.now ?? (() => performance.now());
  const limit = opts.logLimit ?? DEFAULT_LOG_LIMIT;
  const state = new BuildState(now);
  const printed = new Map<number, number>();
  const spills = new Map<number, number>();
  let group: number | 'other' | undefined;

  const emit = (to: number | 'other', lines: string[]): void => {
    const blank = group !== undefined && group !== to ? '\n' : '';
    group = to;
    opts.write(blank + lines.map((l) => `${l}\n`).join(''));
  };
  const closeSpill = (id: number): void => {
    const fd = spills.get(id);
    if (fd !== undefined) closeSync(fd);
    spills.delete(id);
  };
  const output = (e: Extract<ProgressEvent, { type: 'step-output' }>): void => {
    const step = state.steps.get(e.id);
    const at = step ? ((now() - step.started) / 1000).toFixed(3) : '0.000';
    const line = `${at} ${e.line}`;
    const spill = spills.get(e.id);
    if (spill !== undefined) {
      writeSync(spill, `${line}\n`);
      return;
    }
    const total = (printed.get(e.id) ?? 0) + Buffer.byteLength(e.line) + 1;
    printed.set(e.id, total);
    if (total <= limit || opts.spillDir === undefined) {
      emit(e.id, [`#${e.id} ${line}`]);
      return;
    }
    mkdirSync(opts.spillDir, { recursive: true });
    const path = join(opts.spillDir, `step-${e.id}.log`);
    const fd = openSync(path, 'w');
    spills.set(e.id, fd);
    writeSync(fd, `${line}\n`);
    emit(e.id, [`#${e.id} [output beyond ${humanSize(limit)}: the rest of this step's output is in ${path}]`]);
  };

  const sink = (e: ProgressEvent): void => {
    state.apply(e);
    switch (e.type) {
      case 'step-output':
        output(e);
        break;
      case 'step-start':
        emit(e.id, [`#${e.id} ${e.label}`]);
        break;
      case 'step-cached':
        emit(e.id, [`#${e.id} ${e.label}`, `#${e.id} CACHED`]);
        break;
      case 'step-done':
        closeSpill(e.id);
        emit(e.id, [`#${e.id} DONE ${e.seconds.toFixed(1)}s`]);
        break;
      case 'step-error':
        closeSpill(e.id);
        emit(e.id, [`#${e.id} ERROR: ${e.message}`]);
        break;
      case 'transfer-done':
        emit('other', [transferLine(e)]);
        break;
      case 'info':
        emit('other', [e.message]);
        break;
      case 'warning':
        emit('other', [`warning: ${e.message}`]);
        break;
      case 'result':
        emit('other', summaryLines(e.result));
        break;
      case 'plan':
      case 'transfer':
      case 'error':
        break;
    }
  };
  return {
    sink,
    finish: ({ failed }) => {
      for (const id of [...spills.keys()]) closeSpill(id);
      if (failed) for (const step of state.failures()) emit('other', failureLines(step));
    },
  };
}

/** `sha256:0123456789ab: pulled 1.2 MB`, as `tsbuild pull` and `push` have always printed. */
function transferLine(e: Extract<ProgressEvent, { type: 'transfer-done' }>): string {
  const mb = `${(e.bytes / 1e6).toFixed(1)} MB`;
  const what = e.id.startsWith('sha256:') ? e.id.slice(0, 'sha256:'.length + 12) : e.id;
  switch (e.how) {
    case 'cached':
      return `${what}: already present`;
    case 'exists':
      return `${what}: already in ${e.name}`;
    case 'mounted':
      return `${what}: mounted from ${e.from ?? '?'}`;
    case 'sent':
      return `${what}: ${e.action === 'pull' ? 'pulled' : e.action === 'push' ? 'pushed' : 'exported'} ${mb}`;
  }
}

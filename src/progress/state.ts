import type { BuildSummary, ProgressEvent, TransferAction } from './events.ts';

/** How many output lines of each step are kept: enough for the failure report and the live view. */
const TAIL_LINES = 10;

export interface StepState {
  id: number;
  label: string;
  status: 'running' | 'done' | 'cached' | 'error';
  /** When it started, on the renderer's clock (ms). */
  started: number;
  /** Set when it ended. */
  seconds?: number;
  /** Its last output lines, oldest first. */
  tail: string[];
  message?: string;
  exitCode?: number;
}

export interface TransferState {
  id: string;
  action: TransferAction;
  name: string;
  bytes: number;
  total?: number;
  started: number;
  /** When it ended (ms), and how. */
  ended?: number;
  how?: 'sent' | 'cached' | 'exists' | 'mounted';
}

/**
 * What the event stream has said so far, folded into the state of each step
 * and transfer: the model the tty view draws and the failure report reads.
 * Steps and transfers keep the order they first appeared in.
 */
export class BuildState {
  readonly steps = new Map<number, StepState>();
  readonly transfers = new Map<string, TransferState>();
  /** Filesystem steps in the plan, once known. */
  total?: number;
  result?: BuildSummary;

  constructor(private readonly now: () => number) {}

  apply(e: ProgressEvent): void {
    switch (e.type) {
      case 'plan':
        this.total = e.steps;
        break;
      case 'step-start':
      case 'step-cached':
        this.steps.set(e.id, {
          id: e.id,
          label: e.label,
          status: e.type === 'step-start' ? 'running' : 'cached',
          started: this.now(),
          tail: [],
          ...(e.type === 'step-cached' && { seconds: 0 }),
        });
        break;
      case 'step-output': {
        const step = this.steps.get(e.id);
        if (!step) break;
        step.tail.push(e.line);
        if (step.tail.length > TAIL_LINES) step.tail.shift();
        break;
      }
      case 'step-done':
      case 'step-error': {
        const step = this.steps.get(e.id);
        if (!step) break;
        step.seconds = e.type === 'step-done' ? e.seconds : (this.now() - step.started) / 1000;
        step.status = e.type === 'step-done' ? 'done' : 'error';
        if (e.type === 'step-error') {
          step.message = e.message;
          if (e.exitCode !== undefined) step.exitCode = e.exitCode;
        }
        break;
      }
      case 'transfer': {
        const t = this.transfers.get(e.id);
        if (t && t.ended === undefined) {
          t.bytes = e.bytes;
          if (e.total !== undefined) t.total = e.total;
        } else {
          this.transfers.set(e.id, { id: e.id, action: e.action, name: e.name, bytes: e.bytes, started: this.now(), ...(e.total !== undefined && { total: e.total }) });
        }
        break;
      }
      case 'transfer-done': {
        const t = this.transfers.get(e.id) ?? { id: e.id, action: e.action, name: e.name, bytes: 0, started: this.now() };
        t.bytes = e.bytes;
        t.ended = this.now();
        t.how = e.how;
        this.transfers.set(e.id, t);
        break;
      }
      case 'result':
        this.result = e.result;
        break;
      case 'info':
      case 'warning':
      case 'error':
        break;
    }
  }

  /** Steps that are over: run, cached or failed. */
  get finished(): number {
    let n = 0;
    for (const s of this.steps.values()) if (s.status !== 'running') n++;
    return n;
  }

  /** The steps that failed, in the order they started. */
  failures(): StepState[] {
    return [...this.steps.values()].filter((s) => s.status === 'error');
  }
}

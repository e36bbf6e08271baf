import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { Renderer } from './events.ts';
import type { ProgressMode } from './modes.ts';
import { jsonRenderer } from './json.ts';
import { DEFAULT_LOG_LIMIT, plainRenderer } from './plain.ts';


export interface RendererOptions {
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
  /** The tty header's verb (default `Building`). */
  title?: string;
}

/**
 * The display `mode` asks for, drawing on stderr:
 *
 * - `tty`: redrawn in place (see tty.ts), coloured unless `NO_COLOR` is set
 *   (`FORCE_COLOR` wins over it, and sets the depth);
 * - `plain`: BuildKit's plain log (see plain.ts); a step's output beyond
 *   `TSBUILD_STEP_LOG_MAX_SIZE` bytes (default 2 MiB) goes to a file under
 *   the temp dir, whose path is printed;
 * - `json`: one event per line (see json.ts);
 * - `quiet`: nothing.
 *
 * The tty view and chalk are loaded only for `tty`: a build whose progress
 * goes to a pipe or a file does without them.
 */
export async function createRenderer(mode: ProgressMode, opts: RendererOptions = {}): Promise<Renderer> {
  const stream = opts.stream ?? process.stderr;
  const env = opts.env ?? process.env;
  const write = (text: string): void => void stream.write(text);
  const resolved = mode === 'auto' ? (stream.isTTY ? 'tty' : 'plain') : mode;
  switch (resolved) {
    case 'tty': {
      const [{ ttyRenderer }, { Chalk, chalkStderr }] = await Promise.all([import('./tty.ts'), import('chalk')]);
      const colour = new Chalk({ level: colourLevel(env, chalkStderr.level) });
      return ttyRenderer({ stream, colour, ...(opts.title !== undefined && { title: opts.title }) });
    }
    case 'plain':
      return plainRenderer({ write, logLimit: logLimit(env), spillDir: join(tmpdir(), `tsbuild-logs-${process.pid}-${Date.now()}`) });
    case 'json':
      return jsonRenderer(write);
    case 'quiet':
      return { sink: () => undefined, finish: () => undefined };
  }
}

/**
 * The colour depth: `FORCE_COLOR` when set (empty or `true`: 1, `false`: 0,
 * else its number, at most 3), else none when `NO_COLOR` is non-empty, else
 * `terminal`: what chalk finds for stderr (the terminal's support).
 */
function colourLevel(env: NodeJS.ProcessEnv, terminal: 0 | 1 | 2 | 3): 0 | 1 | 2 | 3 {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '' || force === 'true') return 1;
    const n = Number.parseInt(force, 10);
    return force === 'false' || n <= 0 ? 0 : Number.isNaN(n) ? 1 : (Math.min(n, 3) as 1 | 2 | 3);
  }
  if (env.NO_COLOR) return 0;
  return terminal;
}

function logLimit(env: NodeJS.ProcessEnv): number {
  const v = env.TSBUILD_STEP_LOG_MAX_SIZE;
  if (v === undefined || v === '') return DEFAULT_LOG_LIMIT;
  if (!/^\d+$/.test(v)) throw new UserError(`invalid TSBUILD_STEP_LOG_MAX_SIZE ${JSON.stringify(v)}: expected a number of bytes`);
  return Number(v);
}

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './run-command.ts';
import { unmount } from './overlay.ts';

/** Who owns an `active/<id>` dir: a pid plus its start time, so a reused pid is not mistaken for the owner. */
interface Owner {
  pid: number;
  start: string;
}

/**
 * The scratch space of one build process: `active/<id>/`, holding the mounts
 * of running steps and the runtime bundles. It records its owner so that a
 * later build can tell a dir left by a killed build (`kill -9`, power loss)
 * from one in use by a concurrent build, and clean only the former: kill its
 * containers, unmount its mounts, delete it.
 */
export class BuildSession {
  private counter = 0;

  private constructor(
    readonly id: string,
    readonly dir: string,
  ) {}

  /** Opens a new session under `root/active`, after recovering what dead builds left there. */
  static async open(root: string, runtime: string): Promise<BuildSession> {
    const active = join(root, 'active');
    await mkdir(active, { recursive: true });
    await recoverDeadSessions(active, runtime, runtimeState(root));
    const id = randomBytes(5).toString('hex');
    const dir = join(active, id);
    await mkdir(dir);
    const owner: Owner = { pid: process.pid, start: await startTime(process.pid) };
    await writeFile(join(dir, 'owner.json'), JSON.stringify(owner));
    return new BuildSession(id, dir);
  }

  /** A fresh, empty dir inside the session. */
  async scratchDir(): Promise<string> {
    const dir = join(this.dir, String(++this.counter));
    await mkdir(dir);
    return dir;
  }

  /** A container id unique to this session, recognisable by its prefix. */
  containerId(): string {
    return `${containerPrefix(this.id)}${++this.counter}`;
  }

  /** Removes the session dir (everything in it must be unmounted already). */
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Where the OCI runtime keeps container state for builds under `root`. */
export function runtimeState(root: string): string {
  return join(root, 'run', 'runtime');
}

function containerPrefix(sessionId: string): string {
  return `tsbuild-${sessionId}-`;
}

async function recoverDeadSessions(active: string, runtime: string, state: string): Promise<void> {
  for (const id of await readdir(active)) {
    const dir = join(active, id);
    const owner = await readFile(join(dir, 'owner.json'), 'utf8').then((t) => JSON.parse(t) as Owner, () => undefined);
    if (owner && (await isAlive(owner))) continue;
    const listed = await runCommand(runtime, ['--root', state, 'list', '-q']);
    for (const container of listed.stdout.split('\n').filter((c) => c.startsWith(containerPrefix(id)))) {
      await runCommand(runtime, ['--root', state, 'delete', '--force', container]);
    }
    for (const mountPoint of await mountsUnder(dir)) await unmount(mountPoint);
    await rm(dir, { recursive: true, force: true });
  }
}

async function isAlive(owner: Owner): Promise<boolean> {
  try {
    process.kill(owner.pid, 0);
  } catch {
    return false;
  }
  return (await startTime(owner.pid)) === owner.start;
}

/** Field 22 of /proc/PID/stat: the process start time in clock ticks since boot. */
async function startTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

/** Mount points at or below `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return points.sort((a, b) => b.length - a.length);
}

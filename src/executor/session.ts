import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { lock } from '../cache/lock-file.ts';
import { currentOwner, isAlive, parseOwner } from '../cache/owner.ts';
import { joinStore } from '../cache/store-lock.ts';
import { randomHex } from '../random-hex.ts';
import { readTextIfAny } from '../read-text.ts';

/**
 * The scratch space of one build process: `active/<id>/`, holding the mounts
 * of running steps and the runtime bundles. It records its owner so that a
 * later build can tell a dir left by a killed build (`kill -9`, power loss)
 * from one in use by a concurrent build, and clean only the former: kill its
 * containers, unmount its mounts, delete it. A live session also keeps
 * garbage collection away from the store (see cache/store-lock.ts).
 */
export class BuildSession {
  private counter = 0;

  private constructor(
    readonly id: string,
    readonly dir: string,
  ) {}

  /**
   * Opens a new session under `root/active`, after recovering what dead
   * builds left there; waits while a garbage collection holds the store.
   * The dir appears with its owner file already in it (made aside, then
   * renamed), so no other build ever takes it for a dead one.
   */
  static async open(root: string, onWait?: () => void): Promise<BuildSession> {
    // synchronous calls: a few small ones, each cheaper than a promise's round trip through the thread pool
    mkdirSync(join(root, 'active'), { recursive: true });
    await recoverDeadSessions(root);
    const id = randomHex(10);
    const dir = join(root, 'active', id);
    const staging = join(root, 'active-new', id);
    const register = async (): Promise<void> => {
      const owner = JSON.stringify(await currentOwner());
      mkdirSync(staging, { recursive: true });
      writeFileSync(join(staging, 'owner.json'), owner);
      renameSync(staging, dir);
    };
    await joinStore(root, register, () => rm(dir, { recursive: true, force: true }), onWait);
    return new BuildSession(id, dir);
  }

  /** A fresh, empty dir inside the session (every step takes one or two: made synchronously, see DiffDirs.create). */
  async scratchDir(): Promise<string> {
    const dir = join(this.dir, String(++this.counter));
    mkdirSync(dir);
    return dir;
  }

  /** A container id unique to this session, recognisable by its prefix. */
  containerId(): string {
    return `${containerPrefix(this.id)}${++this.counter}`;
  }

  /** Removes the session dir (everything in it must be unmounted already). */
  async close(): Promise<void> {
    // a session that ran steps holds a dir per step: rm -rf is quicker then; one that ran none loads nothing more
    if (this.counter > 0) await (await import('../remove-tree.ts')).removeTree(this.dir);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

function containerPrefix(sessionId: string): string {
  return `tsbuild-${sessionId}-`;
}

/** How many builds are running on `root`: sessions whose owner is alive. */
export async function liveSessions(root: string): Promise<number> {
  let live = 0;
  for (const id of sessionIds(root, 'active')) if (await ownerAlive(join(root, 'active', id))) live++;
  return live;
}

/** Session dirs (`active/<id>`) and half-made ones (`active-new/<id>`) whose build is dead, as paths relative to `root`. */
export async function deadSessions(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const parent of ['active', 'active-new'] as const) {
    for (const id of sessionIds(root, parent)) {
      // a staging dir without its owner file yet is being made right now; a session dir always has one
      if (!(await ownerAlive(join(root, parent, id), parent === 'active-new'))) out.push(`${parent}/${id}`);
    }
  }
  return out;
}

/**
 * Cleans up after builds that died: their containers, mounts and session
 * dirs (and half-made session dirs). One process at a time does it, so two
 * builds starting together do not unmount the same mounts.
 */
export async function recoverDeadSessions(root: string): Promise<void> {
  if ((await deadSessions(root)).length === 0) return;
  const held = await lock(join(root, 'locks', 'recover'));
  try {
    for (const path of await deadSessions(root)) {
      const [parent, id] = path.split('/') as [string, string];
      if (parent === 'active') await recoverSession(root, id);
      else await rm(join(root, path), { recursive: true, force: true });
    }
  } finally {
    await held.release();
  }
}

async function recoverSession(root: string, id: string): Promise<void> {
  // loaded only here: a build that finds no dead session needs neither runtimes nor host commands
  const [{ RUNTIMES }, { runCommand }, { unmount }] = await Promise.all([import('./oci-runtime.ts'), import('./run-command.ts'), import('./overlay.ts')]);
  const dir = join(root, 'active', id);
  // the dead build may have used either runtime; each keeps its own state
  for (const runtime of RUNTIMES) {
    const list = runtime.command(root, ['list', '-q']);
    const listed = await runCommand(list.cmd, list.args).catch(() => undefined);
    for (const container of (listed?.stdout ?? '').split('\n').filter((c) => c.startsWith(containerPrefix(id)))) {
      const del = runtime.command(root, ['delete', '--force', container]);
      await runCommand(del.cmd, del.args);
    }
  }
  for (const mountPoint of await mountsUnder(dir)) await unmount(mountPoint);
  await rm(dir, { recursive: true, force: true });
}

function sessionIds(root: string, parent: 'active' | 'active-new'): string[] {
  try {
    return readdirSync(join(root, parent));
  } catch {
    return [];
  }
}

async function ownerAlive(dir: string, unknownIsAlive = false): Promise<boolean> {
  const owner = parseOwner(readTextIfAny(join(dir, 'owner.json')) ?? '');
  return owner === undefined ? unknownIsAlive : isAlive(owner);
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

import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentOwner, isAlive, parseOwner } from './owner.ts';

/** A lock this process holds; `release` is idempotent. */
export interface HeldLock {
  release(): Promise<void>;
}

/** Polling of a busy lock starts at this interval (ms) and slows down to MAX_POLL. */
const FIRST_POLL = 10;
const MAX_POLL = 200;

/**
 * Takes the lock file at `path` if it is free: the file holds its owner
 * (pid and start time), so a lock left by a killed process is recognised as
 * such and taken over. The file appears complete or not at all (written
 * aside, then hard-linked into place), so a reader never sees half an owner.
 * Undefined when a live process holds it (this one included: the lock
 * excludes other holders in the same process too).
 */
export async function tryLock(path: string): Promise<HeldLock | undefined> {
  const token = randomBytes(8).toString('hex');
  const body = JSON.stringify({ ...(await currentOwner()), token });
  const tmp = `${path}.${token}.new`;
  await writeFile(tmp, body).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, body);
  });
  try {
    for (;;) {
      try {
        await link(tmp, path);
        return held(path, body);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const current = await readFile(path, 'utf8').catch(() => undefined);
      if (current === undefined) continue;
      const owner = parseOwner(current);
      if (owner && (await isAlive(owner))) return undefined;
      await removeStale(path, current);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Takes the lock at `path`, waiting while a live process holds it.
 * `onWait` is called once if it has to wait.
 */
export async function lock(path: string, opts: { onWait?: () => void } = {}): Promise<HeldLock> {
  let poll = FIRST_POLL;
  let waited = false;
  for (;;) {
    const got = await tryLock(path);
    if (got) return got;
    if (!waited) opts.onWait?.();
    waited = true;
    await sleep(poll);
    poll = Math.min(MAX_POLL, poll * 2);
  }
}

/** Whether a live process holds the lock at `path` now. */
export async function isLocked(path: string): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === undefined) return false;
  const owner = parseOwner(current);
  return owner !== undefined && (await isAlive(owner));
}

/**
 * Removes a lock file whose owner is dead. Two processes may find the same
 * stale lock at once: each moves the file aside and only deletes it if it
 * is still the stale one it read; a live lock moved by mistake goes back.
 */
async function removeStale(path: string, staleBody: string): Promise<void> {
  const aside = `${path}.${randomBytes(8).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== undefined && moved !== staleBody) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function held(path: string, body: string): HeldLock {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // only our own file: never one another process took over
      if ((await readFile(path, 'utf8').catch(() => undefined)) === body) await unlink(path).catch(() => undefined);
    },
  };
}

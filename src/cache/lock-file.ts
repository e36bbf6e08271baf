import { linkSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentOwner, isAlive, parseOwner } from './owner.ts';
import { randomHex } from '../random-hex.ts';
import { readTextIfAny } from '../read-text.ts';

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
  const token = randomHex(16);
  const body = JSON.stringify({ ...(await currentOwner()), token });
  const tmp = `${path}.${token}.new`;
  // synchronous calls: each is one cheap system call on a tiny file, where a thread-pool round trip costs more than the call
  try {
    writeFileSync(tmp, body);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, body);
  }
  try {
    for (;;) {
      try {
        linkSync(tmp, path);
        return held(path, body);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const current = readTextIfAny(path);
      if (current === undefined) continue;
      const owner = parseOwner(current);
      if (owner && (await isAlive(owner))) return undefined;
      removeStale(path, current);
    }
  } finally {
    ignoreErrors(() => unlinkSync(tmp));
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
  const current = readTextIfAny(path);
  if (current === undefined) return false;
  const owner = parseOwner(current);
  return owner !== undefined && (await isAlive(owner));
}

/**
 * Removes a lock file whose owner is dead. Two processes may find the same
 * stale lock at once: each moves the file aside and only deletes it if it
 * is still the stale one it read; a live lock moved by mistake goes back.
 */
function removeStale(path: string, staleBody: string): void {
  const aside = `${path}.${randomHex(16)}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  const moved = readTextIfAny(aside);
  if (moved !== undefined && moved !== staleBody) ignoreErrors(() => linkSync(aside, path));
  ignoreErrors(() => unlinkSync(aside));
}

function held(path: string, body: string): HeldLock {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // only our own file: never one another process took over
      if (readTextIfAny(path) === body) ignoreErrors(() => unlinkSync(path));
    },
  };
}

function ignoreErrors(fn: () => void): void {
  try {
    fn();
  } catch {
    // already gone, or never there: nothing to undo
  }
}

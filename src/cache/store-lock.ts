import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLocked, lock, tryLock, type HeldLock } from './lock-file.ts';

/**
 * The store's reader/writer lock. Builds are the readers: each one is
 * registered by its session dir under `active/` for as long as it runs.
 * Garbage collection (`prune`, `doctor`, the automatic limit) is the
 * writer: it takes `locks/gc`, which keeps new builds out, then waits until
 * no live build is left. Nothing a running build uses can therefore be
 * removed.
 *
 * The two sides order their steps so that one always sees the other: a
 * build registers first and then checks the GC lock; GC takes the lock
 * first and then looks for builds. A build that finds the lock taken
 * withdraws its registration and waits for the lock to go.
 */
function gcLockPath(root: string): string {
  return join(root, 'locks', 'gc');
}

const POLL_MS = 100;

/**
 * Joins the store as a build: `register` makes the build visible to GC;
 * while a GC holds the store, `withdraw` undoes it and the join is retried
 * once the GC is done. `onWait` is called once if it has to wait.
 */
export async function joinStore(root: string, register: () => Promise<void>, withdraw: () => Promise<void>, onWait?: () => void): Promise<void> {
  let waited = false;
  for (;;) {
    await register();
    if (!(await isLocked(gcLockPath(root)))) return;
    await withdraw();
    if (!waited) onWait?.();
    waited = true;
    while (await isLocked(gcLockPath(root))) await sleep(POLL_MS);
  }
}

export interface LockStoreOptions {
  /** Wait for running builds (and another GC); false: give up at once when the store is busy. */
  wait: boolean;
  /** How many builds are running now (live sessions). */
  liveBuilds: () => Promise<number>;
  /** Called with the number of running builds when it starts waiting for them. */
  onWait?: (builds: number) => void;
}

/**
 * Takes the store for GC: no build runs while the returned lock is held.
 * Undefined when `wait` is false and the store is busy.
 */
export async function lockStore(root: string, opts: LockStoreOptions): Promise<HeldLock | undefined> {
  const path = gcLockPath(root);
  const held = opts.wait ? await lock(path, { onWait: () => opts.onWait?.(0) }) : await tryLock(path);
  if (!held) return undefined;
  let waited = false;
  try {
    for (;;) {
      const builds = await opts.liveBuilds();
      if (builds === 0) return held;
      if (!opts.wait) {
        await held.release();
        return undefined;
      }
      if (!waited) opts.onWait?.(builds);
      waited = true;
      await sleep(POLL_MS);
    }
  } catch (e) {
    await held.release();
    throw e;
  }
}

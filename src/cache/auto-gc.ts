/**
 * The automatic store limit's schedule, checked after every build: one stat
 * of a stamp file (synchronous: a rebuild the build memo answers should not
 * wait for a thread pool round trip). The collection itself (gc.ts, with
 * everything it needs) is loaded only when a check is due.
 */
import { statSync, type Stats } from 'node:fs';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PruneReport } from './gc.ts';

/** How often a build checks the store size against its limit. */
export const GC_CHECK_INTERVAL_MS = 3_600_000;

/**
 * The automatic limit, run after a build: at most once per `intervalMs`
 * (the age of `<root>/gc-checked` says), the store is measured and, when it
 * exceeds `keepStorage` (default: 10% of its file system), pruned down to it
 * unless other builds are running (see gc.ts, enforceLimit). The report is
 * undefined when nothing was due, nothing was pruned or the store was busy.
 */
export async function collectIfDue(root: string, opts: { keepStorage?: number; intervalMs?: number } = {}): Promise<PruneReport | undefined> {
  const stamp = join(root, 'gc-checked');
  let last: Stats | undefined;
  try {
    last = statSync(stamp);
  } catch {
    // no stamp yet: a check is due
  }
  if (last && Date.now() - last.mtimeMs < (opts.intervalMs ?? GC_CHECK_INTERVAL_MS)) return undefined;
  const now = new Date();
  await utimes(stamp, now, now).catch(() => writeFile(stamp, ''));
  return (await import('./gc.ts')).enforceLimit(root, opts.keepStorage);
}

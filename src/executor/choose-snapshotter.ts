import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProgressSink } from '../progress/events.ts';
import { CopySnapshotter } from './copy-snapshotter.ts';
import type { DiffDirs, Lower } from './diff-dirs.ts';
import { mountOverlay, unmount } from './overlay.ts';
import { OverlaySnapshotter, type ActiveSnapshot, type PrepareOptions, type Snapshotter, type ViewSnapshot } from './snapshotter.ts';

export type SnapshotterChoice = 'auto' | 'overlay' | 'copy';

/**
 * The snapshotter for a build: overlayfs, or copies where overlayfs cannot be
 * mounted. `auto` uses overlayfs until a mount fails; it then mounts a tiny
 * overlay to tell a host that cannot mount overlays at all (a root on
 * overlayfs, as inside many containers; a kernel without it) from a failure
 * of that one snapshot. On such a host it says so in the progress output and
 * goes on with copies, the failed snapshot included; otherwise the error
 * stands. Probing up front instead cost every build that runs a step a mount
 * and an unmount (10 ms).
 */
export function chooseSnapshotter(choice: SnapshotterChoice, diffs: DiffDirs, scratch: () => Promise<string>, progress: ProgressSink): Snapshotter {
  const overlay = new OverlaySnapshotter(diffs, scratch);
  const copy = new CopySnapshotter(diffs, scratch);
  if (choice === 'overlay') return overlay;
  if (choice === 'copy') return copy;
  /** Set once an overlay mount failed: the probe's verdict. */
  let verdict: Promise<Snapshotter> | undefined;
  const use = async <T>(op: (s: Snapshotter) => Promise<T>): Promise<T> => {
    if (verdict) return op(await verdict);
    try {
      return await op(overlay);
    } catch (e) {
      verdict ??= overlayWorks(scratch).then((error) => {
        if (error === undefined) return overlay;
        progress({ type: 'info', message: `overlayfs cannot be mounted here (${error}): using copies for snapshots, which is slower` });
        return copy;
      });
      if ((await verdict) === overlay) throw e;
      return op(copy);
    }
  };
  return {
    prepare: (lowers: readonly Lower[], opts?: PrepareOptions): Promise<ActiveSnapshot> => use((s) => s.prepare(lowers, opts)),
    view: (lowers: readonly Lower[]): Promise<ViewSnapshot> => use((s) => s.view(lowers)),
  };
}

/** Mounts and unmounts a two-layer overlay; resolves with why it failed, or undefined. */
async function overlayWorks(scratch: () => Promise<string>): Promise<string | undefined> {
  const dir = await scratch();
  const [a, b, upper, work, merged] = ['a', 'b', 'upper', 'work', 'merged'].map((n) => join(dir, n)) as [string, string, string, string, string];
  await Promise.all([a, b, upper, work, merged].map((d) => mkdir(d)));
  try {
    await mountOverlay(merged, [a, b], { upper: { upper, work } });
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split('\n').pop()?.replace(/^.*?: /, '') ?? 'unknown error';
  }
  await unmount(merged);
  return undefined;
}

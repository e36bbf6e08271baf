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
 * mounted. `auto` finds out on first use (a fully cached build never asks)
 * by mounting a tiny overlay, and says so in the progress output when it
 * falls back.
 */
export function chooseSnapshotter(choice: SnapshotterChoice, diffs: DiffDirs, scratch: () => Promise<string>, progress: ProgressSink): Snapshotter {
  const overlay = new OverlaySnapshotter(diffs, scratch);
  const copy = new CopySnapshotter(diffs, scratch);
  if (choice === 'overlay') return overlay;
  if (choice === 'copy') return copy;
  let chosen: Promise<Snapshotter> | undefined;
  const pick = (): Promise<Snapshotter> => {
    chosen ??= overlayWorks(scratch).then((error) => {
      if (error === undefined) return overlay;
      progress({ type: 'info', message: `overlayfs cannot be mounted here (${error}): using copies for snapshots, which is slower` });
      return copy;
    });
    return chosen;
  };
  return {
    prepare: async (lowers: readonly Lower[], opts?: PrepareOptions): Promise<ActiveSnapshot> => (await pick()).prepare(lowers, opts),
    view: async (lowers: readonly Lower[]): Promise<ViewSnapshot> => (await pick()).view(lowers),
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

import { mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DiffDirs, Lower } from './diff-dirs.ts';
import { removeTree } from '../remove-tree.ts';
import { mountOverlay, unmount } from './overlay.ts';

/** A writable rootfs over some layers; what is written through it lands in a new diff dir. */
export interface ActiveSnapshot {
  /** The merged view, to run a container in or copy files into. */
  rootfs: string;
  /** Id of the new diff dir: after `unmount`, exactly this step's changes in overlay form. */
  id: string;
  /** The new diff dir's path. */
  upper: string;
  /**
   * The overlay upper dir (`upper`) when new entries may be written into it
   * directly instead of through `rootfs`, for a subtree the merged view does
   * not look at again before `unmount`; undefined when every write must go
   * through `rootfs` (the copy snapshotter computes the diff from it).
   */
  directUpper?: string;
  /** Ends writing; afterwards the diff dir is complete. Idempotent. */
  unmount(): Promise<void>;
  /** Unmounts and frees the scratch space; the diff dir is deleted too unless `keep`. Idempotent. */
  release(keep: boolean): Promise<void>;
}

/** A read-only view of some layers (a `COPY --from` source). */
export interface ViewSnapshot {
  rootfs: string;
  remove(): Promise<void>;
}

export interface PrepareOptions {
  /** Stack the runtime's mount-point stubs at the bottom (for RUN). */
  forContainer?: boolean;
  /** More mount points (a RUN's `--mount` targets) to provide the same way. */
  stubs?: readonly { path: string; dir: boolean }[];
}

/**
 * Snapshots in the containerd sense: `prepare` gives a writable rootfs over a
 * chain of diff dirs (base first) whose changes form a new diff dir (kept with
 * `release(true)`, containerd's Commit); `view` gives a read-only rootfs.
 */
export interface Snapshotter {
  prepare(lowers: readonly Lower[], opts?: PrepareOptions): Promise<ActiveSnapshot>;
  view(lowers: readonly Lower[]): Promise<ViewSnapshot>;
}

/**
 * Snapshots on overlayfs: a step mounts its parents' diff dirs as lower dirs
 * and a new diff dir as the upper dir — no copying at any point.
 */
export class OverlaySnapshotter implements Snapshotter {
  constructor(
    private readonly diffs: DiffDirs,
    private readonly scratch: () => Promise<string>,
  ) {}

  async prepare(lowers: readonly Lower[], opts: PrepareOptions = {}): Promise<ActiveSnapshot> {
    const dir = await this.scratch();
    const { names, folds } = await this.lowerNames(lowers, opts.forContainer === true, dir);
    if (opts.stubs && opts.stubs.length > 0) names.splice(names.length - (opts.forContainer ? 2 : 1), 0, await makeStubs(join(dir, 'stubs'), opts.stubs));
    const rootfs = join(dir, 'rootfs');
    const work = join(dir, 'work');
    mkdirSync(rootfs);
    mkdirSync(work);
    const upper = await this.diffs.create();
    try {
      await mountOverlay(rootfs, names, { upper: { upper: upper.path, work }, cwd: this.diffs.links });
    } catch (e) {
      for (const f of folds) await unmount(f);
      await this.diffs.remove(upper.id);
      await removeTree(dir);
      throw e;
    }
    let mounted = true;
    let released = false;
    const unmountOnce = async (): Promise<void> => {
      if (!mounted) return;
      mounted = false;
      await unmount(rootfs);
      for (const f of folds) await unmount(f);
    };
    return {
      rootfs,
      id: upper.id,
      upper: upper.path,
      directUpper: upper.path,
      unmount: unmountOnce,
      release: async (keep) => {
        await unmountOnce();
        if (released) return;
        released = true;
        await removeTree(dir);
        if (!keep) await this.diffs.remove(upper.id);
      },
    };
  }

  async view(lowers: readonly Lower[]): Promise<ViewSnapshot> {
    const dir = await this.scratch();
    const { names, folds } = await this.lowerNames(lowers, false, dir);
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    try {
      await mountOverlay(rootfs, names, { cwd: this.diffs.links });
    } catch (e) {
      for (const f of folds) await unmount(f);
      await removeTree(dir);
      throw e;
    }
    let mounted = true;
    return {
      rootfs,
      remove: async () => {
        if (mounted) {
          await unmount(rootfs);
          for (const f of folds) await unmount(f);
        }
        mounted = false;
        await removeTree(dir);
      },
    };
  }

  /**
   * Lower-dir names, topmost first, ending with an empty dir (and the runtime
   * stubs above it). A chain too long for one mount's options has its bottom
   * layers folded, a chunk at a time, into read-only overlays mounted under
   * `dir` (returned in `folds`, to unmount after the main mount).
   */
  private async lowerNames(lowers: readonly Lower[], forContainer: boolean, dir: string): Promise<{ names: string[]; folds: string[] }> {
    const layers = (await this.diffs.resolve(lowers)).reverse();
    const empty = await this.diffs.empty();
    // folds stack once: overlayfs allows an overlay as a lower, not an overlay of overlays
    const folds: string[] = [];
    while ([...layers, ...folds].join(':').length > MAX_LOWERDIR_CHARS) {
      const chunk = layers.splice(Math.max(0, layers.length - FOLD_CHUNK), FOLD_CHUNK);
      const target = join(dir, `fold-${folds.length}`);
      await mkdir(target);
      await mountOverlay(target, [...chunk, empty], { cwd: this.diffs.links });
      folds.unshift(target);
    }
    const names = [...layers, ...folds, ...(forContainer ? [await this.diffs.runtimeStubs()] : []), empty];
    return { names, folds };
  }
}

/** Lower dirs must fit one page of mount options together with the upper and work dirs. */
const MAX_LOWERDIR_CHARS = 3000;
/** Layers folded into one intermediate overlay: its own options stay under a page too. */
const FOLD_CHUNK = 150;

/** A dir holding an empty dir or file at each path, to stack as a lower (absolute path: it is not in `l/`). */
async function makeStubs(dir: string, stubs: readonly { path: string; dir: boolean }[]): Promise<string> {
  for (const stub of stubs) {
    const path = join(dir, stub.path);
    if (stub.dir) await mkdir(path, { recursive: true, mode: 0o755 });
    else {
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFile(path, '', { mode: 0o644 });
    }
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

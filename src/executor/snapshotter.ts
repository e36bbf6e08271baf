import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest, Layer } from '../image/oci.ts';
import type { DiffDirs } from './diff-dirs.ts';
import { mountOverlay, unmount } from './overlay.ts';

/** A writable view over some layers: write through `rootfs`, read the diff from `upper` once unmounted. */
export interface ActiveSnapshot {
  /** The merged view, to run a container in or copy files into. */
  rootfs: string;
  /** After `unmount`, exactly the step's changes, in overlay form (whiteouts as 0:0 char devices). */
  upper: string;
  /** Ends writing; afterwards `upper` holds the diff. Idempotent. */
  unmount(): Promise<void>;
  /** Unmounts and deletes everything of this snapshot that was not committed. Idempotent. */
  remove(): Promise<void>;
}

/** A read-only view of some layers (a `COPY --from` source, a bind mount). */
export interface ViewSnapshot {
  rootfs: string;
  remove(): Promise<void>;
}

/**
 * Snapshots in the containerd sense. `prepare` gives a writable rootfs over a
 * chain of layers (base first); `commit` makes its diff the diff dir of a new
 * layer; `view` gives a read-only rootfs; `remove` drops a snapshot.
 */
export interface Snapshotter {
  /** `overlay`, or `copy` where overlayfs cannot be mounted. */
  readonly kind: 'overlay' | 'copy';
  prepare(layers: readonly Layer[]): Promise<ActiveSnapshot>;
  view(layers: readonly Layer[]): Promise<ViewSnapshot>;
  /** Makes the diff of `snapshot` the diff dir of `diffId` and removes the snapshot. */
  commit(snapshot: ActiveSnapshot, diffId: Digest): Promise<void>;
}

/**
 * Snapshots on overlayfs: a step mounts its parents' diff dirs as lower dirs
 * and a fresh upper dir, and its upper dir becomes the new layer's diff dir —
 * no copying at any point.
 */
export class OverlaySnapshotter implements Snapshotter {
  readonly kind = 'overlay';

  constructor(
    private readonly diffs: DiffDirs,
    private readonly scratch: () => Promise<string>,
  ) {}

  async prepare(layers: readonly Layer[]): Promise<ActiveSnapshot> {
    await this.diffs.ensure(layers);
    const dir = await this.scratch();
    const rootfs = join(dir, 'rootfs');
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    await Promise.all([mkdir(rootfs), mkdir(upper), mkdir(work)]);
    await mountOverlay(rootfs, await this.lowers(layers), { upper: { upper, work }, cwd: this.diffs.links });
    let mounted = true;
    const unmountOnce = async (): Promise<void> => {
      if (!mounted) return;
      mounted = false;
      await unmount(rootfs);
    };
    return {
      rootfs,
      upper,
      unmount: unmountOnce,
      remove: async () => {
        await unmountOnce();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  async view(layers: readonly Layer[]): Promise<ViewSnapshot> {
    await this.diffs.ensure(layers);
    const dir = await this.scratch();
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await mountOverlay(rootfs, await this.lowers(layers), { cwd: this.diffs.links });
    let mounted = true;
    return {
      rootfs,
      remove: async () => {
        if (mounted) await unmount(rootfs);
        mounted = false;
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  async commit(snapshot: ActiveSnapshot, diffId: Digest): Promise<void> {
    await snapshot.unmount();
    await this.diffs.adopt(snapshot.upper, diffId);
    await snapshot.remove();
  }

  /** Short lower-dir names, topmost first, ending with an empty dir. */
  private async lowers(layers: readonly Layer[]): Promise<string[]> {
    return [...layers.map((l) => this.diffs.shortName(l.diffId)).reverse(), await this.diffs.empty()];
  }
}

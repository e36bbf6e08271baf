import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { applyLayer } from '../image/layer-apply.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { Digest, Layer } from '../image/oci.ts';
import { mountOverlay, unmount } from './overlay.ts';

/** A writable overlay over some layers: write through `rootfs`, read the diff from `upper` once released. */
export interface ActiveSnapshot {
  /** The merged view, to run a container in or copy files into. */
  rootfs: string;
  /** The overlay upper dir: after `unmount`, exactly the step's changes in overlay form. */
  upper: string;
  /** Unmounts the overlay; the upper dir stays for `commit`. Idempotent. */
  unmount(): Promise<void>;
  /** Unmounts and deletes everything of this snapshot that was not committed. Idempotent. */
  remove(): Promise<void>;
}

/** A read-only view of some layers (a `COPY --from` source). */
export interface ViewSnapshot {
  rootfs: string;
  remove(): Promise<void>;
}

/**
 * Snapshots in the containerd sense, on overlayfs.
 *
 * Each layer is kept unpacked once, as an overlay diff dir (whiteouts as 0:0
 * char devices, opaque dirs by xattr) under `snapshots/<diffId hex>`. Keying
 * by diffId rather than chain ID is sound for overlay: a diff dir's contents
 * do not depend on its parents, so one directory serves every chain that
 * contains that layer. A step mounts its parents' diff dirs as lowers
 * (`prepare`), writes, and its upper dir becomes the new layer's diff dir
 * (`commit`) — no copying at any point.
 *
 * Everything is written under a temp name and renamed into place, so a
 * killed build never leaves a half-unpacked snapshot under a real name.
 */
export class OverlaySnapshotter {
  private readonly snapshots: string;
  private readonly active: string;

  constructor(
    root: string,
    private readonly store: BlobStore,
  ) {
    this.snapshots = join(root, 'snapshots');
    this.active = join(root, 'active');
  }

  /** The diff dir of a layer (which may not exist yet: see `ensure`). */
  diffDir(diffId: Digest): string {
    return join(this.snapshots, diffId.slice('sha256:'.length));
  }

  /** Unpacks every layer whose diff dir is missing, from its blob in the store. */
  async ensure(layers: readonly Layer[]): Promise<void> {
    for (const layer of layers) {
      const dir = this.diffDir(layer.diffId);
      if (await exists(dir)) continue;
      const tmp = await this.scratchDir();
      try {
        await mkdir(join(tmp, 'diff'));
        await applyLayer(this.store.createReadStream(layer.descriptor.digest), join(tmp, 'diff'), {
          whiteouts: 'overlay',
          expectDiffId: layer.diffId,
        });
        await this.adopt(join(tmp, 'diff'), layer.diffId);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  }

  /** Mounts a writable overlay over `layers` (base first). */
  async prepare(layers: readonly Layer[]): Promise<ActiveSnapshot> {
    await this.ensure(layers);
    const dir = await this.scratchDir();
    const rootfs = join(dir, 'rootfs');
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    await Promise.all([mkdir(rootfs), mkdir(upper), mkdir(work)]);
    await mountOverlay(rootfs, await this.lowers(layers), { upper, work });
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

  /** Mounts a read-only overlay over `layers`. */
  async view(layers: readonly Layer[]): Promise<ViewSnapshot> {
    await this.ensure(layers);
    const dir = await this.scratchDir();
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await mountOverlay(rootfs, await this.lowers(layers));
    return {
      rootfs,
      remove: async () => {
        await unmount(rootfs);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  /**
   * Makes the (unmounted) upper dir of `snapshot` the diff dir of `diffId`.
   * If another build already committed the same diff, ours is dropped.
   */
  async commit(snapshot: ActiveSnapshot, diffId: Digest): Promise<void> {
    await snapshot.unmount();
    await this.adopt(snapshot.upper, diffId);
    await snapshot.remove();
  }

  private async adopt(dir: string, diffId: Digest): Promise<void> {
    await mkdir(this.snapshots, { recursive: true });
    try {
      await rename(dir, this.diffDir(diffId));
    } catch (e) {
      if (!isAlreadyThere(e)) throw e;
    }
  }

  /**
   * Lower dirs topmost first, always ending with an empty dir: overlayfs
   * needs two lowers for a read-only mount and one for `FROM scratch`.
   */
  private async lowers(layers: readonly Layer[]): Promise<string[]> {
    const empty = join(this.snapshots, 'empty');
    await mkdir(empty, { recursive: true });
    return [...layers.map((l) => this.diffDir(l.diffId)).reverse(), empty];
  }

  private async scratchDir(): Promise<string> {
    const dir = join(this.active, randomBytes(8).toString('hex'));
    await mkdir(dir, { recursive: true });
    return dir;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isAlreadyThere(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

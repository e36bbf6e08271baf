import { mkdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../image/blob-store.ts';
import { applyLayer } from '../image/layer-apply.ts';
import type { Digest, Layer } from '../image/oci.ts';

/** Length of the short names under `l/`: 16 hex digits (64 bits) of the diffId. */
const SHORT = 16;

/**
 * The unpacked layers: one overlay-format diff dir per layer (whiteouts as
 * 0:0 char devices, opaque dirs by xattr) under `snapshots/<diffId hex>`.
 *
 * Keyed by diffId rather than chain ID: a diff dir's contents do not depend
 * on its parents, so one directory serves every chain that contains that
 * layer. Each also gets a short alias `l/<16 hex>` so that a mount naming
 * hundreds of lower dirs still fits the kernel's one-page option limit.
 * Dirs appear under their real name complete or not at all (temp + rename).
 */
export class DiffDirs {
  readonly snapshots: string;
  /** The dir of short aliases; mount with it as the working directory. */
  readonly links: string;

  constructor(
    root: string,
    private readonly store: BlobStore,
    private readonly scratch: () => Promise<string>,
  ) {
    this.snapshots = join(root, 'snapshots');
    this.links = join(root, 'l');
  }

  path(diffId: Digest): string {
    return join(this.snapshots, hex(diffId));
  }

  /** The short alias of a layer's diff dir, relative to `links`. */
  shortName(diffId: Digest): string {
    return hex(diffId).slice(0, SHORT);
  }

  /** An always-empty dir, relative to `links`: the bottom lower dir of every mount. */
  async empty(): Promise<string> {
    const dir = join(this.links, 'empty');
    await mkdir(dir, { recursive: true });
    return 'empty';
  }

  /** Unpacks every layer whose diff dir is missing, from its blob in the store, and links them all. */
  async ensure(layers: readonly Layer[]): Promise<void> {
    for (const layer of layers) {
      if (!(await exists(this.path(layer.diffId)))) {
        const tmp = await this.scratch();
        try {
          const dir = join(tmp, 'diff');
          await mkdir(dir);
          await applyLayer(this.store.createReadStream(layer.descriptor.digest), dir, { whiteouts: 'overlay', expectDiffId: layer.diffId });
          await this.adopt(dir, layer.diffId);
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      }
      await this.link(layer.diffId);
    }
  }

  /** Makes `dir` the diff dir of `diffId`; when another build got there first, `dir` is dropped. */
  async adopt(dir: string, diffId: Digest): Promise<void> {
    await mkdir(this.snapshots, { recursive: true });
    try {
      await rename(dir, this.path(diffId));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      await rm(dir, { recursive: true, force: true });
    }
    await this.link(diffId);
  }

  private async link(diffId: Digest): Promise<void> {
    await mkdir(this.links, { recursive: true });
    try {
      await symlink(join('..', 'snapshots', hex(diffId)), join(this.links, this.shortName(diffId)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function hex(d: Digest): string {
  return d.slice('sha256:'.length);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

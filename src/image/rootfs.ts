/**
 * An image's final filesystem, for BuildKit's `type=local` and `type=tar`
 * outputs: the layers applied in order (whiteouts deleting, every diffId
 * verified).
 *
 * - `exportRootfs(store, layers, dest)`: the filesystem as the directory
 *   `dest`. It is unpacked into a temp sibling first, so a failed export
 *   leaves `dest` as it was. A missing or empty `dest` is replaced by it;
 *   into a non-empty one its top-level entries are moved, each replacing the
 *   entry of the same name (others are kept, as BuildKit's local exporter
 *   writes into an existing directory).
 * - `rootfsTar(store, layers, scratchParent, { sourceDateEpoch })`: the
 *   filesystem as a deterministic tar stream, unpacked in a temp dir under
 *   `scratchParent` that is removed when the stream ends or is abandoned.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BlobStore } from './blob-store.ts';
import { applyLayer } from './layer-apply.ts';
import { layerTar } from './layer-tar.ts';
import type { Layer } from './oci.ts';

/** Applies `layers` in order into the existing directory `dir`. */
async function unpackLayers(store: BlobStore, layers: readonly Layer[], dir: string): Promise<void> {
  for (const layer of layers) {
    await applyLayer(store.createReadStream(layer.descriptor.digest), dir, { whiteouts: 'extract', expectDiffId: layer.diffId });
  }
}

export async function exportRootfs(store: BlobStore, layers: readonly Layer[], dest: string): Promise<void> {
  const target = resolve(dest);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, `.${basename(target)}.tmp-`));
  try {
    await chmod(tmp, 0o755);
    await unpackLayers(store, layers, tmp);
    const existing = await lstat(target).catch(() => undefined);
    const names = existing?.isDirectory() ? await readdir(target) : [];
    if (!existing || names.length === 0) {
      if (existing) await rm(target, { recursive: true });
      await rename(tmp, target);
      return;
    }
    const trash = await mkdtemp(join(parent, `.${basename(target)}.old-`));
    for (const name of await readdir(tmp)) {
      if (names.includes(name)) await rename(join(target, name), join(trash, name));
      await rename(join(tmp, name), join(target, name));
    }
    await rm(trash, { recursive: true, force: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function* rootfsTar(
  store: BlobStore,
  layers: readonly Layer[],
  scratchParent: string,
  opts: { sourceDateEpoch?: number } = {},
): AsyncGenerator<Buffer> {
  await mkdir(scratchParent, { recursive: true });
  const tmp = await mkdtemp(join(scratchParent, 'rootfs-'));
  try {
    await unpackLayers(store, layers, tmp);
    yield* layerTar(tmp, opts);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

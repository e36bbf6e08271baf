/**
 * `readImage(store, descriptor)`: an image manifest, its config and its
 * layers (blob descriptor plus diffId, in stack order), read from the store
 * with digests verified. Indexes (multi-platform images) are refused: the
 * caller picks a platform first.
 */
import { UserError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';
import { MediaType, type Descriptor, type ImageConfig, type Layer, type Manifest } from './oci.ts';

export interface StoredImage {
  manifest: Manifest;
  config: ImageConfig;
  layers: Layer[];
}

export async function readImage(store: BlobStore, descriptor: Descriptor): Promise<StoredImage> {
  if (descriptor.mediaType === MediaType.index || descriptor.mediaType === MediaType.dockerManifestList) {
    throw new UserError(`${descriptor.digest} is a multi-platform index, not a single image`);
  }
  if (!(await store.has(descriptor.digest))) throw new UserError(`manifest ${descriptor.digest} is missing from the store`);
  const manifest = await store.readJson<Manifest>(descriptor.digest);
  if (!(await store.has(manifest.config.digest))) throw new UserError(`config ${manifest.config.digest} is missing from the store`);
  const config = await store.readJson<ImageConfig>(manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new UserError(`image ${descriptor.digest} has ${manifest.layers.length} layers but ${diffIds.length} diff_ids`);
  }
  const layers = manifest.layers.map((d, i): Layer => ({ descriptor: d, diffId: diffIds[i] as Layer['diffId'] }));
  return { manifest, config, layers };
}

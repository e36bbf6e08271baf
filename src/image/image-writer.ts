/**
 * `storeImage(store, config, layers, { compression })`: puts an image's config
 * and OCI manifest into the blob store and returns their descriptors.
 *
 * Each document is serialised exactly once and the stored bytes are the
 * hashed bytes, so the config digest is the ImageID and the manifest digest
 * is what registries and `oci:` layouts will see. Key order is the order of
 * the objects as given.
 *
 * Layers keep their blobs, except that Docker's gzip media type is written
 * as OCI's (the same bytes: an OCI manifest does not mix families), and that
 * with `compression` every layer of another algorithm is recompressed (see
 * `recompress.ts`).
 */
import type { BlobStore } from './blob-store.ts';
import type { CompressionSpec } from './compression.ts';
import { MediaType, type Descriptor, type ImageConfig, type Layer, type Manifest } from './oci.ts';
import { recompressLayers } from './recompress.ts';

export interface StoreImageOptions {
  /** Make every layer use this compression. */
  compression?: CompressionSpec;
}

export async function storeImage(
  store: BlobStore,
  config: ImageConfig,
  layers: Layer[],
  opts: StoreImageOptions = {},
): Promise<{ manifest: Descriptor; config: Descriptor }> {
  const finalLayers = await recompressLayers(store, layers, opts.compression);
  const configBlob = await store.putBytes(Buffer.from(JSON.stringify(config), 'utf8'));
  const configDescriptor: Descriptor = { mediaType: MediaType.config, digest: configBlob.digest, size: configBlob.size };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: configDescriptor,
    layers: finalLayers.map((l) => l.descriptor),
  };
  const manifestBlob = await store.putBytes(Buffer.from(JSON.stringify(manifest), 'utf8'));
  return {
    manifest: { mediaType: MediaType.manifest, digest: manifestBlob.digest, size: manifestBlob.size },
    config: configDescriptor,
  };
}

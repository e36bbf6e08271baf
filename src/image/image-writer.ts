/**
 * `storeImage(store, config, layers)`: puts an image's config and OCI
 * manifest into the blob store and returns their descriptors.
 *
 * Each document is serialised exactly once and the stored bytes are the
 * hashed bytes, so the config digest is the ImageID and the manifest digest
 * is what registries and `oci:` layouts will see. Key order is the order of
 * the objects as given.
 */
import type { BlobStore } from './blob-store.ts';
import { MediaType, type Descriptor, type ImageConfig, type Layer, type Manifest } from './oci.ts';

export async function storeImage(
  store: BlobStore,
  config: ImageConfig,
  layers: Layer[],
): Promise<{ manifest: Descriptor; config: Descriptor }> {
  const configBlob = await store.putBytes(Buffer.from(JSON.stringify(config), 'utf8'));
  const configDescriptor: Descriptor = { mediaType: MediaType.config, digest: configBlob.digest, size: configBlob.size };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: configDescriptor,
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBlob = await store.putBytes(Buffer.from(JSON.stringify(manifest), 'utf8'));
  return {
    manifest: { mediaType: MediaType.manifest, digest: manifestBlob.digest, size: manifestBlob.size },
    config: configDescriptor,
  };
}

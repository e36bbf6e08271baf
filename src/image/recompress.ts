/**
 * `recompressLayers(store, layers, spec?)`: the same layers with every blob in
 * the compression `spec` asks for, for `--compression` applied to a whole
 * image (BuildKit's `force-compression`): layers whose media type already
 * matches are kept as they are (whatever their level), the others are
 * decompressed, their diffId verified, and compressed again into the store.
 * Docker's gzip media type counts as gzip and is relabelled to OCI's (the
 * bytes are the same); without `spec` that relabelling is all that happens.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';
import { compressor, layerMediaType, type CompressionSpec } from './compression.ts';
import { decompressed } from './decompress.ts';
import { tap, writeSyncTo } from './stream-stages.ts';
import { MediaType, type Digest, type Layer } from './oci.ts';

export async function recompressLayers(store: BlobStore, layers: readonly Layer[], spec?: CompressionSpec): Promise<Layer[]> {
  const out: Layer[] = [];
  for (const layer of layers) {
    const current = layer.descriptor.mediaType === MediaType.dockerLayerGzip ? MediaType.layerGzip : layer.descriptor.mediaType;
    if (!spec || current === layerMediaType(spec.compression)) {
      out.push({ ...layer, descriptor: { ...layer.descriptor, mediaType: current } });
    } else {
      out.push(await recompress(store, layer, spec));
    }
  }
  return out;
}

async function recompress(store: BlobStore, layer: Layer, spec: CompressionSpec): Promise<Layer> {
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  const tmp = await store.tempPath();
  try {
    await pipeline(
      decompressed(store.createReadStream(layer.descriptor.digest)),
      tap(diffHash),
      compressor(spec),
      tap(blobHash, (n) => (size += n)),
      (chunks: AsyncIterable<Buffer>) => writeSyncTo(tmp, chunks),
    );
    const diffId: Digest = `sha256:${diffHash.digest('hex')}`;
    if (diffId !== layer.diffId) throw new UserError(`layer ${layer.descriptor.digest} does not match its diffId ${layer.diffId}`);
    const digest: Digest = `sha256:${blobHash.digest('hex')}`;
    await store.commitTemp(tmp, digest);
    return { diffId, descriptor: { mediaType: layerMediaType(spec.compression), digest, size } };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Turns an overlayfs upper dir (one build step's diff) into a compressed OCI
 * layer blob in the store.
 *
 * `writeLayer(diffDir, store, { sourceDateEpoch, compression })` streams
 * `layerTar(diffDir)` through the compressor into a temp file of the blob
 * store, hashing the tar (the diffId) and the compressed bytes (the blob
 * digest) on the way, then renames the file into place under its digest.
 * Only a few chunks are ever in memory. The default compression is gzip at
 * level 1 on every core; see `compression.ts` for the others.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from './blob-store.ts';
import { compressor, layerMediaType, type CompressionSpec } from './compression.ts';
import { tap, writeSyncTo } from './stream-stages.ts';
import { layerTar } from './layer-tar.ts';
import type { Digest, Layer } from './oci.ts';

export interface WriteLayerOptions {
  /** Clamp every mtime to this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
  /** Default gzip at compression.ts's default level. */
  compression?: CompressionSpec;
}

/** Writes the layer for `diffDir` into `store` and describes it. */
export async function writeLayer(diffDir: string, store: BlobStore, opts: WriteLayerOptions = {}): Promise<Layer> {
  const spec = opts.compression ?? { compression: 'gzip' };
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  const tmp = await store.tempPath();
  try {
    await pipeline(
      layerTar(diffDir, opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
      tap(diffHash),
      compressor(spec),
      tap(blobHash, (n) => (size += n)),
      (chunks: AsyncIterable<Buffer>) => writeSyncTo(tmp, chunks),
    );
    const digest: Digest = `sha256:${blobHash.digest('hex')}`;
    await store.commitTemp(tmp, digest);
    return {
      descriptor: { mediaType: layerMediaType(spec.compression), digest, size },
      diffId: `sha256:${diffHash.digest('hex')}`,
    };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

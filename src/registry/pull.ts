import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { UserError } from '../errors.ts';
import { isDigest, type BlobStore } from '../image/blob-store.ts';
import type { Descriptor, Digest, ImageConfig, Layer, Platform } from '../image/oci.ts';
import type { Reference } from '../image/reference.ts';
import { downloadBlob } from './blob.ts';
import { BlobWriterPool } from './blob-writer.ts';
import { fetchManifest } from './manifest.ts';
import { RegistrySession, type RegistryOptions } from './session.ts';
import { RegistryTransport } from './transport.ts';
import { FirstFailure } from './first-failure.ts';

/** Enough parallelism to hide latency without hammering the registry (as Docker does). */
const LAYER_CONCURRENCY = 3;

/**
 * Layers at least this big are hashed and written on worker threads (see
 * BlobWriterPool), so that the main thread only receives; for smaller ones
 * a thread's start-up costs more than it saves.
 */
const OFF_THREAD_MIN_BYTES = 8 << 20;

/**
 * What a pull reports as it goes, for progress display. Layer events carry
 * the compressed blob's digest and size as the manifest states them.
 */
export type PullProgress =
  /** The platform manifest was fetched, verified and stored. */
  | { type: 'manifest'; descriptor: Descriptor }
  /** The store already had this layer; it is not downloaded. */
  | { type: 'layer-cached'; digest: Digest; size: number }
  /** Bytes of this layer received so far (emitted per chunk; throttle when drawing). */
  | { type: 'layer-progress'; digest: Digest; size: number; received: number }
  /** This layer is downloaded, verified and stored. */
  | { type: 'layer-done'; digest: Digest; size: number };

export interface PullOptions extends RegistryOptions {
  /** Which image of a multi-platform index to pull; default linux/amd64. */
  platform?: Platform;
  onProgress?: (event: PullProgress) => void;
}

/** A pulled image whose manifest, config and layers are all in the store. */
export interface PulledImage {
  /** The platform-specific manifest (never an index): digest, size and media type of its exact bytes. */
  manifest: Descriptor;
  config: ImageConfig;
  /** In manifest order, each with the diffId the config gives it. */
  layers: Layer[];
}

/**
 * Pulls an image over the OCI distribution API into `store`, logging in
 * as the registry asks (see RegistryOptions for credentials, plain-HTTP
 * registries and retries).
 *
 * The manifest (chosen for `platform` when the reference names an index),
 * config and every layer blob end up in the store, each verified against its
 * digest and size; blobs the store already holds are not fetched again.
 * The config and the layers download concurrently and stream straight to
 * disk, big layers hashed and written on worker threads; transient failures
 * are retried and broken downloads resumed (see downloadBlob). On the first
 * failure that sticks (a config that does not fit the manifest included) the
 * other downloads are cancelled and the pull rejects with a one-line
 * UserError naming the registry, repository and what failed.
 */
export async function pullImage(ref: Reference, store: BlobStore, opts: PullOptions = {}): Promise<PulledImage> {
  const transport = new RegistryTransport(RegistrySession.of(opts), ref);
  const { descriptor, bytes, manifest } = await fetchManifest(transport, opts.platform ? { platform: opts.platform } : {});
  if (!(await store.has(descriptor.digest))) await store.putStream([bytes], descriptor);
  opts.onProgress?.({ type: 'manifest', descriptor });

  const writers = await writersFor(store, manifest.layers);
  const failure = new FirstFailure();
  let checked: { config: ImageConfig; diffIds: Digest[] } | undefined;
  try {
    // the layers do not wait for the config: that would cost a round trip before the bulk of the bytes
    await Promise.all([
      failure.guard(async () => {
        await downloadBlob(transport, store, manifest.config, { signal: failure.signal });
        checked = await readConfig(transport, store, manifest.config.digest, manifest.layers.length);
      }),
      downloadLayers(transport, store, manifest.layers, writers, failure, opts.onProgress),
    ]);
  } finally {
    await writers?.close();
  }
  if (failure.error !== undefined) throw failure.error;
  const { config, diffIds } = checked as { config: ImageConfig; diffIds: Digest[] };
  return {
    manifest: descriptor,
    config,
    layers: manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i] as Digest })),
  };
}

/**
 * Writer threads for the big layers the store lacks: one per layer, but no
 * more than download at once nor than there are cores besides the main
 * thread's. None when there is no such layer, or no spare core.
 */
async function writersFor(store: BlobStore, layers: readonly Descriptor[]): Promise<BlobWriterPool | undefined> {
  const spareCores = availableParallelism() - 1;
  if (spareCores < 1) return undefined;
  const big = new Set(layers.filter((l) => l.size >= OFF_THREAD_MIN_BYTES).map((l) => l.digest));
  let missing = 0;
  for (const digest of big) if (!(await store.has(digest))) missing++;
  return missing > 0 ? new BlobWriterPool(Math.min(missing, LAYER_CONCURRENCY, spareCores)) : undefined;
}

/**
 * Reads the stored config and checks what the pull relies on: that it is a
 * JSON object whose rootfs.diff_ids has one digest per manifest layer.
 */
async function readConfig(
  transport: RegistryTransport,
  store: BlobStore,
  digest: Digest,
  layerCount: number,
): Promise<{ config: ImageConfig; diffIds: Digest[] }> {
  const what = `config ${digest}`;
  let config: ImageConfig;
  try {
    config = await store.readJson<ImageConfig>(digest);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw transport.fail(what, 'not valid JSON');
  }
  const diffIds: unknown = typeof config === 'object' && config !== null ? config.rootfs?.diff_ids : undefined;
  if (!Array.isArray(diffIds) || diffIds.length !== layerCount || !diffIds.every(isDigest)) {
    throw transport.fail(
      what,
      `rootfs.diff_ids must list one sha256 digest per layer, and the manifest has ${layerCount} layer${layerCount === 1 ? '' : 's'}`,
    );
  }
  return { config, diffIds };
}

/**
 * Downloads the distinct layer blobs, LAYER_CONCURRENCY at a time, big ones
 * through `writers`, failures going to `failure`. Resolves once every
 * started download has settled, so none is still writing into the store
 * after the pull has failed.
 */
async function downloadLayers(
  transport: RegistryTransport,
  store: BlobStore,
  layers: readonly Descriptor[],
  writers: BlobWriterPool | undefined,
  failure: FirstFailure,
  onProgress: ((event: PullProgress) => void) | undefined,
): Promise<void> {
  const distinct = [...new Map(layers.map((l) => [l.digest, l])).values()];
  const limit = pLimit(LAYER_CONCURRENCY);
  const one = async (layer: Descriptor): Promise<void> => {
    // Queued downloads still start after a failure; they just return at once.
    if (failure.signal.aborted) return;
    const { digest, size } = layer;
    const fetched = await downloadBlob(transport, store, layer, {
      signal: failure.signal,
      ...(writers && size >= OFF_THREAD_MIN_BYTES && { writers }),
      ...(onProgress && { onBytes: (received: number) => onProgress({ type: 'layer-progress', digest, size, received }) }),
    });
    onProgress?.({ type: fetched ? 'layer-done' : 'layer-cached', digest, size });
  };
  await Promise.all(distinct.map((layer) => limit(() => failure.guard(() => one(layer)))));
}

import pLimit from 'p-limit';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import { MediaType, type Descriptor, type Digest, type Index, type Manifest } from '../image/oci.ts';
import { formatReference, type Reference } from '../image/reference.ts';
import type { BlobLocations, Repository } from './locations.ts';
import { putManifest } from './manifest.ts';
import { RegistrySession, type RegistryOptions } from './session.ts';
import { RegistryTransport } from './transport.ts';
import { pushBlob } from './upload.ts';
import { FirstFailure } from './first-failure.ts';

/** Uploads at once per push: enough to fill a link, few enough not to be throttled. */
const UPLOAD_CONCURRENCY = 3;

/** Indexes inside indexes are legal but rare; more than this is a loop or abuse. */
const MAX_INDEX_DEPTH = 4;

/**
 * What a push reports as it goes, for progress display. Blob events name
 * the blob by digest and size; `repository` is `registry/repository`.
 */
export type PushProgress =
  /** The repository has the blob already: nothing sent. */
  | { type: 'blob-exists'; repository: string; digest: Digest; size: number }
  /** The registry linked the blob from another of its repositories: nothing sent. */
  | { type: 'blob-mounted'; repository: string; digest: Digest; size: number; from: string }
  /** Bytes of this blob sent so far (emitted per chunk read; throttle when drawing). */
  | { type: 'blob-progress'; repository: string; digest: Digest; size: number; sent: number }
  /** The blob is uploaded and the registry accepted its digest. */
  | { type: 'blob-done'; repository: string; digest: Digest; size: number }
  /** The manifest is in place under `ref` (a tag, or a digest for an index's entries). */
  | { type: 'manifest'; ref: string; descriptor: Descriptor };

export interface PushOptions extends RegistryOptions {
  onProgress?: (event: PushProgress) => void;
  /** Upload blobs in chunks of this many bytes (PATCH requests); default: each in one PUT. */
  chunkSize?: number;
  /**
   * Repositories believed to hold each blob (see blobLocations): a blob
   * the target lacks is mounted from one on the same registry instead of
   * uploaded. Repositories pushed to earlier in the same call count too.
   */
  knownLocations?: BlobLocations;
  signal?: AbortSignal;
}

export interface PushResult {
  /** The manifest (or index) pushed, as the registry now serves it. */
  manifest: Descriptor;
  /** Every name it was put under, fully qualified. */
  refs: string[];
}

/**
 * Pushes an image from `store` to the registries `refs` name: blobs first
 * (skipped when present, mounted across repositories when known elsewhere
 * on the same registry, else uploaded, `UPLOAD_CONCURRENCY` at a time), then
 * the manifest under each tag. For an index, each platform manifest it
 * lists is pushed by digest before the index itself.
 *
 * `manifest` is the descriptor of a manifest or index in `store`; every
 * blob it needs must be there too. References are grouped by repository,
 * so each repository gets the blobs once however many tags it receives. A
 * reference with a digest must name this manifest's digest.
 *
 * The library form of `tsbuild push` and of `build --push`. Rejects with a
 * one-line UserError naming the registry, repository and what failed.
 */
export async function pushImage(
  store: BlobStore,
  manifest: Descriptor,
  refs: Reference | readonly Reference[],
  opts: PushOptions = {},
): Promise<PushResult> {
  const targets = Array.isArray(refs) ? (refs as readonly Reference[]) : [refs as Reference];
  if (targets.length === 0) throw new UserError('push: no image name given');
  for (const ref of targets) {
    if (ref.digest && ref.digest !== manifest.digest) {
      throw new UserError(`${formatReference(ref)}: the image to push is ${manifest.digest}, not the digest the name pins`);
    }
  }
  const image = await collect(store, manifest, 0);
  const session = RegistrySession.of(opts);
  const pushedTo: Repository[] = [];
  const names: string[] = [];
  for (const group of groupByRepository(targets)) {
    const first = group[0] as Reference;
    const transport = new RegistryTransport(session, first, 'push');
    const mountSource = (digest: Digest): string | undefined => {
      const known = [...pushedTo, ...(opts.knownLocations?.get(digest) ?? [])];
      return known.find((r) => r.registry === first.registry && r.repository !== first.repository)?.repository;
    };
    await pushBlobs(transport, store, image.blobs, mountSource, opts);
    for (const child of image.children) {
      await putManifest(transport, child.descriptor.digest, child.descriptor, child.bytes, opts.signal);
      opts.onProgress?.({ type: 'manifest', ref: `${first.registry}/${first.repository}@${child.descriptor.digest}`, descriptor: child.descriptor });
    }
    for (const ref of group) {
      await putManifest(transport, ref.tag ?? manifest.digest, manifest, image.bytes, opts.signal);
      const name = formatReference(ref);
      names.push(name);
      opts.onProgress?.({ type: 'manifest', ref: name, descriptor: manifest });
    }
    pushedTo.push({ registry: first.registry, repository: first.repository });
  }
  return { manifest, refs: names };
}

/** A manifest's bytes, the blobs it needs, and (for an index) its child manifests, innermost first. */
interface Collected {
  bytes: Buffer;
  blobs: Descriptor[];
  children: { descriptor: Descriptor; bytes: Buffer }[];
}

async function collect(store: BlobStore, descriptor: Descriptor, depth: number): Promise<Collected> {
  if (!(await store.has(descriptor.digest))) throw new UserError(`manifest ${descriptor.digest} is not in the local store ${store.root}`);
  const bytes = await store.readBytes(descriptor.digest);
  const json = JSON.parse(bytes.toString('utf8')) as Partial<Manifest & Index>;
  const isIndex = descriptor.mediaType === MediaType.index || descriptor.mediaType === MediaType.dockerManifestList;
  if (isIndex) {
    if (depth >= MAX_INDEX_DEPTH) throw new UserError(`index ${descriptor.digest}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
    const out: Collected = { bytes, blobs: [], children: [] };
    for (const entry of json.manifests ?? []) {
      const child = await collect(store, entry, depth + 1);
      out.blobs.push(...child.blobs);
      out.children.push(...child.children, { descriptor: entry, bytes: child.bytes });
    }
    return out;
  }
  if (!json.config || !Array.isArray(json.layers)) throw new UserError(`manifest ${descriptor.digest} in the local store has no config or layers`);
  const blobs = [json.config, ...json.layers];
  for (const b of blobs) {
    if (!(await store.has(b.digest))) throw new UserError(`blob ${b.digest} of manifest ${descriptor.digest} is not in the local store ${store.root}`);
  }
  return { bytes, blobs, children: [] };
}

function groupByRepository(refs: readonly Reference[]): Reference[][] {
  const groups = new Map<string, Reference[]>();
  for (const ref of refs) {
    const key = `${ref.registry}/${ref.repository}`;
    const group = groups.get(key);
    if (group) group.push(ref);
    else groups.set(key, [ref]);
  }
  return [...groups.values()];
}

/**
 * Pushes the distinct blobs, UPLOAD_CONCURRENCY at a time. Waits for every
 * started upload to settle before rejecting, so nothing is still sending
 * once the push has failed.
 */
async function pushBlobs(
  transport: RegistryTransport,
  store: BlobStore,
  blobs: readonly Descriptor[],
  mountSource: (digest: Digest) => string | undefined,
  opts: PushOptions,
): Promise<void> {
  const repository = `${transport.ref.registry}/${transport.ref.repository}`;
  const distinct = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  const limit = pLimit(UPLOAD_CONCURRENCY);
  const failure = new FirstFailure();
  const signal = opts.signal ? AbortSignal.any([opts.signal, failure.signal]) : failure.signal;
  const onProgress = opts.onProgress;
  const one = (blob: Descriptor): Promise<void> =>
    failure.guard(async () => {
      if (signal.aborted) return;
      const { digest, size } = blob;
      const from = mountSource(digest);
      const outcome = await pushBlob(transport, store, blob, from, {
        signal,
        ...(opts.chunkSize && { chunkSize: opts.chunkSize }),
        ...(onProgress && { onBytes: (sent: number) => onProgress({ type: 'blob-progress', repository, digest, size, sent }) }),
      });
      if (outcome === 'exists') onProgress?.({ type: 'blob-exists', repository, digest, size });
      else if (outcome === 'mounted') onProgress?.({ type: 'blob-mounted', repository, digest, size, from: `${transport.ref.registry}/${from}` });
      else onProgress?.({ type: 'blob-done', repository, digest, size });
    });
  await Promise.all(distinct.map((blob) => limit(() => one(blob))));
  if (failure.error !== undefined) throw failure.error;
}

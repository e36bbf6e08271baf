import { createReadStream } from 'node:fs';
import type { BlobStore } from '../image/blob-store.ts';
import type { Descriptor } from '../image/oci.ts';
import { repositoryScope } from './auth.ts';
import { discard, type HttpResponse } from './http.ts';
import { backoff } from './retry.ts';
import { RegistryError, type RegistryTransport } from './transport.ts';

export interface UploadOptions {
  signal?: AbortSignal;
  /** Called with the running total of bytes sent of the blob. */
  onBytes?: (sent: number) => void;
  /**
   * Upload in PATCH requests of this many bytes (raised to the registry's
   * `OCI-Chunk-Min-Length` when it asks for more); default: one PUT.
   */
  chunkSize?: number;
}

/** How a blob got into the repository. */
export type UploadOutcome = 'exists' | 'mounted' | 'uploaded';

/** Read size for streaming blobs to the registry; big reads keep throughput up. */
const READ_CHUNK = 1 << 20;

/** Whether the repository has the blob (`HEAD /v2/<repo>/blobs/<digest>`). */
async function blobExists(transport: RegistryTransport, blob: Descriptor, signal?: AbortSignal): Promise<boolean> {
  const res = await transport.request(`blobs/${blob.digest}`, {
    method: 'HEAD',
    what: `blob ${blob.digest}`,
    allow: [404],
    ...(signal && { signal }),
  });
  await discard(res);
  return res.status !== 404;
}

/**
 * Puts one blob from the store into the transport's repository, cheapest
 * way first: nothing when it is there already; a cross-repository mount
 * from `mountFrom` (a repository of the same registry believed to hold it),
 * which costs no bytes; else an upload, monolithic or chunked.
 *
 * A failed upload is started over (a fresh upload session) when the failure
 * was transient, up to the session's retry attempts: an upload cut off
 * half-way cannot simply be sent again, as the registry may have kept part
 * of it.
 */
export async function pushBlob(
  transport: RegistryTransport,
  store: BlobStore,
  blob: Descriptor,
  mountFrom: string | undefined,
  opts: UploadOptions = {},
): Promise<UploadOutcome> {
  if (await blobExists(transport, blob, opts.signal)) return 'exists';
  let session: UploadSession | undefined;
  if (mountFrom !== undefined) {
    const mounted = await mount(transport, blob, mountFrom, opts.signal);
    if (mounted === 'mounted') return 'mounted';
    session = mounted;
  }
  const policy = transport.session.retry;
  for (let attempt = 1; ; attempt++) {
    try {
      await upload(transport, store, blob, session ?? (await startUpload(transport, blob, opts.signal)), opts);
      return 'uploaded';
    } catch (e) {
      if (!(e instanceof RegistryError && e.transient) || attempt >= policy.attempts) throw e;
      session = undefined;
      await backoff(policy, attempt, null, opts.signal);
    }
  }
}

/** An upload the registry opened: where to send the bytes, and its minimum chunk. */
interface UploadSession {
  location: string;
  minChunk: number;
}

/**
 * `POST …/blobs/uploads/?mount=<digest>&from=<repo>`. The registry answers
 * 201 when it linked the blob, or 202 with an ordinary upload session when
 * it could not (the source does not have it, or we may not read it).
 */
async function mount(transport: RegistryTransport, blob: Descriptor, from: string, signal?: AbortSignal): Promise<'mounted' | UploadSession> {
  const query = new URLSearchParams({ mount: blob.digest, from });
  const res = await transport.request(`blobs/uploads/?${query}`, {
    method: 'POST',
    what: `blob ${blob.digest} (mount from ${from})`,
    scopes: [repositoryScope(from, 'pull')],
    ...(signal && { signal }),
  });
  await discard(res);
  if (res.status === 201) return 'mounted';
  return sessionOf(transport, res, blob);
}

async function startUpload(transport: RegistryTransport, blob: Descriptor, signal?: AbortSignal): Promise<UploadSession> {
  const res = await transport.request('blobs/uploads/', {
    method: 'POST',
    what: `blob ${blob.digest}`,
    ...(signal && { signal }),
  });
  await discard(res);
  return sessionOf(transport, res, blob);
}

function sessionOf(transport: RegistryTransport, res: HttpResponse, blob: Descriptor): UploadSession {
  const location = res.headers.get('location');
  if (res.status !== 202 || !location) {
    throw transport.fail(`blob ${blob.digest}`, `the registry opened no upload (HTTP ${res.status}${location ? '' : ', no Location'})`);
  }
  return { location: new URL(location, res.url).href, minChunk: Number(res.headers.get('oci-chunk-min-length')) || 0 };
}

async function upload(
  transport: RegistryTransport,
  store: BlobStore,
  blob: Descriptor,
  session: UploadSession,
  opts: UploadOptions,
): Promise<void> {
  const what = `blob ${blob.digest}`;
  const signal = opts.signal && { signal: opts.signal };
  const path = store.path(blob.digest);
  let location = session.location;
  const chunk = opts.chunkSize ? Math.max(opts.chunkSize, session.minChunk) : 0;
  const chunked = chunk > 0 && blob.size > chunk;
  if (chunked) {
    for (let start = 0; start < blob.size; start += chunk) {
      const end = Math.min(start + chunk, blob.size);
      const res = await transport.request(location, {
        method: 'PATCH',
        what,
        retry: false,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${start}-${end - 1}`,
          'content-length': String(end - start),
        },
        body: () => fileRange({ path, start, end }, opts.onBytes),
        ...signal,
      });
      await discard(res);
      // Locations may be relative, to the URL that answered
      const next = res.headers.get('location');
      if (next) location = new URL(next, res.url).href;
    }
  }
  const put = new URL(location);
  put.searchParams.set('digest', blob.digest);
  const res = await transport.request(put.href, {
    method: 'PUT',
    what,
    retry: false,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunked ? 0 : blob.size) },
    ...(!chunked && { body: () => fileRange({ path, start: 0, end: blob.size }, opts.onBytes) }),
    ...signal,
  });
  await discard(res);
  const stored = res.headers.get('docker-content-digest');
  if (stored && stored !== blob.digest) throw transport.fail(what, `the registry stored it as ${stored}`);
}

interface RangeBody {
  path: string;
  start: number;
  /** Exclusive. */
  end: number;
}

/**
 * Bytes `start` to `end` of a stored blob as a request body, reporting the
 * blob's running total sent. An async iterable rather than a file Blob:
 * it streams with fewer copies, and lets progress be counted.
 */
async function* fileRange(range: RangeBody, onBytes: ((sent: number) => void) | undefined): AsyncGenerator<Uint8Array> {
  if (range.end === range.start) return;
  let sent = range.start;
  for await (const chunk of createReadStream(range.path, { start: range.start, end: range.end - 1, highWaterMark: READ_CHUNK })) {
    sent += (chunk as Buffer).length;
    onBytes?.(sent);
    yield chunk as Buffer;
  }
}

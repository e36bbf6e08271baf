import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { Descriptor } from '../image/oci.ts';
import type { RegistryTransport } from './transport.ts';

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Called with the running total of bytes received, once per chunk. */
  onBytes?: (received: number) => void;
}

/**
 * Streams one blob from the registry straight into the store, which verifies
 * digest and size before the blob becomes visible; nothing is buffered in
 * memory and a failed or aborted download leaves nothing behind.
 * Returns false, without a request, when the store already has the blob.
 */
export async function downloadBlob(
  transport: RegistryTransport,
  store: BlobStore,
  blob: Descriptor,
  opts: DownloadOptions = {},
): Promise<boolean> {
  if (await store.has(blob.digest)) return false;
  const what = `blob ${blob.digest}`;
  const res = await transport.get(`blobs/${blob.digest}`, { what, ...(opts.signal && { signal: opts.signal }) });
  if (!res.body) throw transport.fail(what, 'registry sent no body');
  try {
    await store.putStream(counted(res.body, opts.onBytes), { digest: blob.digest, size: blob.size });
  } catch (e) {
    if (e instanceof UserError) throw transport.fail(what, e.message);
    throw transport.networkError(e, what);
  }
  return true;
}

async function* counted(
  body: AsyncIterable<Uint8Array>,
  onBytes: ((received: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  for await (const chunk of body) {
    received += chunk.length;
    onBytes?.(received);
    yield chunk;
  }
}

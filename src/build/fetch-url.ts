import { Readable } from 'node:stream';
import { posix } from 'node:path';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { Digest } from '../image/oci.ts';
import type { FetchedUrl } from '../planner/plan.ts';

/**
 * Downloads an `ADD https://…` source into the blob store, so that its
 * content digest can key the step and the executor can copy it from there.
 * `--checksum=sha256:…` is verified before anything is stored.
 */
export async function fetchUrl(store: BlobStore, url: string, checksum?: string): Promise<FetchedUrl> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`ADD: ${url} is not a valid URL`);
  }
  if (checksum !== undefined && !/^sha256:[a-f0-9]{64}$/.test(checksum)) {
    throw new UserError(`ADD --checksum=${checksum}: expected sha256: and 64 lowercase hex digits`);
  }
  let response: Response;
  try {
    response = await fetch(parsed, { redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new UserError(`ADD: cannot fetch ${url}${cause ? ` (${cause})` : ''}`);
  }
  if (!response.ok || !response.body) throw new UserError(`ADD: ${url}: HTTP ${response.status}`);
  const blob = await store
    .putStream(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), checksum ? { digest: checksum as Digest } : undefined)
    .catch((e: unknown) => {
      if (e instanceof UserError && checksum) throw new UserError(`ADD ${url}: the content does not match --checksum=${checksum}`);
      throw e;
    });
  const modified = response.headers.get('last-modified');
  const mtime = modified ? Math.floor(Date.parse(modified) / 1000) : undefined;
  const name = posix.basename(decodeURIComponent(parsed.pathname)) || 'index.html';
  return { url, digest: blob.digest, name, ...(mtime !== undefined && !Number.isNaN(mtime) && { mtime }) };
}

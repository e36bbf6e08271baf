import { posix } from 'node:path';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { Digest } from '../image/oci.ts';
import type { FetchedUrl } from '../planner/plan.ts';
import { send, type HttpResponse } from '../registry/http.ts';

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
  let response: HttpResponse;
  try {
    response = await send(parsed.href, () => ({}));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`ADD: cannot fetch ${url}${code ? ` (${code})` : ''}`);
  }
  if (!response.ok) {
    response.body.resume();
    throw new UserError(`ADD: ${url}: HTTP ${response.status}`);
  }
  const blob = await store
    .putStream(response.body, checksum ? { digest: checksum as Digest } : undefined)
    .catch((e: unknown) => {
      if (e instanceof UserError && checksum) throw new UserError(`ADD ${url}: the content does not match --checksum=${checksum}`);
      throw e;
    });
  const modified = response.headers.get('last-modified');
  const mtime = modified ? Math.floor(Date.parse(modified) / 1000) : undefined;
  const name = posix.basename(decodeURIComponent(parsed.pathname)) || 'index.html';
  return { url, digest: blob.digest, name, ...(mtime !== undefined && !Number.isNaN(mtime) && { mtime }) };
}

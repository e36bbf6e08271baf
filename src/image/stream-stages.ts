/** Small pipeline stages shared by the layer writers. */
import type { Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

/** A pipeline stage that feeds every chunk to `hash` (and its length to `count`) and passes it on unchanged. */
export function tap(hash: Hash, count?: (n: number) => void): (chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (chunks) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      count?.(chunk.length);
      yield chunk;
    }
  };
}

/**
 * A pipeline's last stage: writes the chunks to a new file at `path` with
 * synchronous calls. The thread pool is busy compressing, and an
 * asynchronous write queued behind its deflate jobs would stall the whole
 * pipeline; a write into the page cache takes well under a millisecond.
 */
export async function writeSyncTo(path: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  const fd = openSync(path, 'w');
  try {
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
    }
  } finally {
    closeSync(fd);
  }
}

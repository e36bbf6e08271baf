import type { Hash } from 'node:crypto';

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

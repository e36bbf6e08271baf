import { Readable } from 'node:stream';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { Descriptor } from '../image/oci.ts';
import type { BlobWriterPool } from './blob-writer.ts';
import { backoff, isTransientNetworkError } from './retry.ts';
import type { RegistryTransport } from './transport.ts';

/** See ResumableBody.coalesced. */
const COALESCE = 1 << 20;

/**
 * Pieces of COALESCE bytes read from the network ahead of the store. The
 * store writes one piece at a time; without a read-ahead the download would
 * stop during each disk write, and the event loop, with every layer waiting
 * on its write, would sit idle.
 */
const READ_AHEAD = 8;

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Called with the running total of bytes received, once per chunk. */
  onBytes?: (received: number) => void;
  /** Hash and write the blob on one of these threads, away from the thread that receives it. */
  writers?: BlobWriterPool;
}

/**
 * Streams one blob from the registry straight into the store, which verifies
 * digest and size before the blob becomes visible; nothing is buffered in
 * memory and a failed or aborted download leaves nothing behind.
 *
 * A connection that breaks mid-blob is picked up where it stopped with a
 * `Range` request (the registry answers 206), or, when the registry ignores
 * ranges, by reading the blob again and skipping what was already stored.
 * Breaks are retried per the session's policy, counted afresh whenever
 * bytes arrived in between, so a slow but moving download is never given up.
 *
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
  const body = new ResumableBody(transport, blob, what, opts);
  const expected = { digest: blob.digest, size: blob.size };
  try {
    if (opts.writers) await opts.writers.put(store, body.chunks(), expected);
    else await store.putStream(Readable.from(body.coalesced(), { objectMode: true, highWaterMark: READ_AHEAD }), expected);
  } catch (e) {
    // the store's own verdicts (digest or size mismatch) are about this blob: say which
    if (e instanceof UserError && !body.raised.has(e)) throw transport.fail(what, e.message);
    throw e;
  }
  return true;
}

/** One blob's bytes across as many requests as it takes (see downloadBlob). */
class ResumableBody {
  /** Errors this body threw itself, already worded for the user. */
  readonly raised = new Set<unknown>();
  /** Whether the last open() had to start again from byte 0. */
  private restartedFromZero = false;

  constructor(
    private readonly transport: RegistryTransport,
    private readonly blob: Descriptor,
    private readonly what: string,
    private readonly opts: DownloadOptions,
  ) {}

  /**
   * The blob's bytes, network chunks (64 KiB) gathered into pieces of about
   * COALESCE bytes: the store then hashes and writes a few hundred pieces
   * instead of thousands of small ones, which is most of a pull's CPU time.
   */
  async *coalesced(): AsyncGenerator<Uint8Array> {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    for await (const chunk of this.chunks()) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= COALESCE) {
        yield Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
  }

  /** The blob's bytes as the network delivers them, each chunk a buffer of its own. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    const { blob, opts } = this;
    const policy = this.transport.session.retry;
    let received = 0;
    /** Bytes of a restarted (non-range) body that were stored already. */
    let skip = 0;
    let failures = 0;
    let receivedAtFailure = 0;
    let body: AsyncIterator<Buffer> | undefined;
    try {
      body = await this.open(0);
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await body.next();
        } catch (e) {
          // a cancelled pull cuts its connections; that is not a failure to resume from
          if (opts.signal?.aborted) throw opts.signal.reason;
          if (!isTransientNetworkError(e)) throw this.transport.networkError(e, this.what);
          if (received > receivedAtFailure) failures = 0;
          receivedAtFailure = received;
          if (++failures >= policy.attempts) throw this.transport.networkError(e, this.what, failures);
          await backoff(policy, failures, null, opts.signal);
          body = await this.open(received);
          skip = this.restartedFromZero ? received : 0;
          continue;
        }
        if (step.done) return;
        let chunk = step.value;
        if (skip > 0) {
          const dropped = Math.min(skip, chunk.length);
          skip -= dropped;
          chunk = chunk.subarray(dropped);
          if (chunk.length === 0) continue;
        }
        received += chunk.length;
        if (received > blob.size) {
          throw this.transport.fail(this.what, `registry sent more than the ${blob.size} bytes the manifest gives`);
        }
        opts.onBytes?.(received);
        yield chunk;
      }
    } catch (e) {
      this.raised.add(e);
      throw e;
    } finally {
      // stop the transfer when the store gave up first (or the caller aborted)
      await body?.return?.().catch(() => undefined);
    }
  }

  /** GETs the blob from byte `offset` on; the registry may ignore the range and send it all. */
  private async open(offset: number): Promise<AsyncIterator<Buffer>> {
    const res = await this.transport.get(`blobs/${this.blob.digest}`, {
      what: this.what,
      ...(this.opts.signal && { signal: this.opts.signal }),
      ...(offset > 0 && { headers: { range: `bytes=${offset}-` } }),
    });
    this.restartedFromZero = res.status !== 206;
    if (res.status === 206) {
      const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
      if (Number(start) !== offset) {
        res.body.destroy();
        throw this.transport.fail(this.what, `asked to resume at byte ${offset}, the registry sent ${res.headers.get('content-range') ?? 'no Content-Range'}`);
      }
    }
    return (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }
}

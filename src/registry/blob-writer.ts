/**
 * Hashing and writing downloaded blobs on worker threads.
 *
 * Receiving a blob, hashing it and handing it to the disk all on the main
 * thread keeps a pull on one core however many there are, and on a busy
 * machine that one thread gets the share of one. Here the main thread only
 * receives: it moves (transfers, not copies) the network's buffers to a
 * worker in batches, and the worker hashes them and writes them to the
 * blob's temp file. Batches keep the messages few; a message costs tens of
 * microseconds, a lot next to one 64 KiB network chunk.
 *
 * The blob is committed under its digest only once the worker's digest and
 * size match what was expected, as BlobStore.putStream would.
 *
 *   const writers = new BlobWriterPool(1);
 *   try {
 *     await writers.put(store, chunks, { digest, size });
 *   } finally {
 *     await writers.close();
 *   }
 */
import { rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { checkExpected, type BlobStore } from '../image/blob-store.ts';
import type { Digest } from '../image/oci.ts';

/** Bytes sent to a worker in one message. */
const BATCH_BYTES = 1 << 20;
/** Bytes sent to a worker and not yet written; past this the download waits for the disk. */
const MAX_IN_FLIGHT = 8 << 20;

/** Messages to a worker, each about the blob `id`. */
type ToWorker =
  | { type: 'open'; id: number; path: string }
  | { type: 'data'; id: number; chunks: Uint8Array[] }
  | { type: 'end'; id: number }
  | { type: 'abort'; id: number };

/**
 * A worker's answers: one `written` per data batch, then one last word per
 * blob: `done` after `end`, `closed` after `abort`, or `failed` as soon as
 * anything fails. After its last word on a blob the worker has let go of
 * its file.
 */
type FromWorker =
  | { type: 'written'; id: number; bytes: number }
  | { type: 'done'; id: number; digest: string; size: number }
  | { type: 'closed'; id: number }
  | { type: 'failed'; id: number; code: string | undefined; message: string };

/**
 * A worker's main: writes any number of blobs at once, each kept apart by
 * its id. After a failure it ignores the rest of that blob's messages. Runs
 * from its source text, so it may only use what it loads itself and defines
 * no named inner functions.
 */
function workerMain(): void {
  const port = process.getBuiltinModule('node:worker_threads').parentPort;
  const fs = process.getBuiltinModule('node:fs');
  const crypto = process.getBuiltinModule('node:crypto');
  const blobs = new Map<number, { fd: number; hash: ReturnType<typeof crypto.createHash>; size: number }>();
  port?.on('message', (m: ToWorker) => {
    const blob = blobs.get(m.id);
    if (m.type !== 'open' && !blob) return;
    try {
      if (m.type === 'open') {
        blobs.set(m.id, { fd: fs.openSync(m.path, 'w'), hash: crypto.createHash('sha256'), size: 0 });
      } else if (m.type === 'data' && blob) {
        let bytes = 0;
        for (const chunk of m.chunks) {
          blob.hash.update(chunk);
          bytes += chunk.length;
        }
        // libuv's writev goes on after short writes itself; this only guards against it not doing so
        const written = fs.writevSync(blob.fd, m.chunks);
        if (written !== bytes) throw Object.assign(new Error(`short write: ${written} of ${bytes} bytes`), { code: 'EIO' });
        blob.size += bytes;
        port.postMessage({ type: 'written', id: m.id, bytes });
      } else if (blob) {
        blobs.delete(m.id);
        fs.closeSync(blob.fd);
        port.postMessage(m.type === 'end' ? { type: 'done', id: m.id, digest: `sha256:${blob.hash.digest('hex')}`, size: blob.size } : { type: 'closed', id: m.id });
      }
    } catch (e) {
      if (blobs.delete(m.id)) fs.closeSync((blob as { fd: number }).fd);
      const err = e as NodeJS.ErrnoException;
      port.postMessage({ type: 'failed', id: m.id, code: err.code, message: err.message });
    }
  });
}

const WORKER_SOURCE = `(${workerMain.toString()})();`;

/** One blob on its way through a worker, as the main thread sees it. */
interface Job {
  /** Bytes sent and not yet written. */
  inFlight: number;
  /** Whether the worker has said its last word on this blob (or died). */
  settled: boolean;
  result: { digest: Digest; size: number } | undefined;
  failure: Error | undefined;
  /** Wakes the sender when the worker catches up, settles or dies. */
  wake: (() => void) | undefined;
}

/** A worker and the blobs it is writing. */
class WriterThread {
  readonly worker: Worker;
  readonly jobs = new Map<number, Job>();
  /** Why the worker is gone, once it is. */
  gone: Error | undefined;

  constructor() {
    // no execArgv: the worker needs no loader flags (under tsx they would load it again)
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      if (m.type === 'written') {
        job.inFlight -= m.bytes;
      } else {
        job.settled = true;
        if (m.type === 'done') job.result = { digest: m.digest as Digest, size: m.size };
        if (m.type === 'failed') job.failure ??= Object.assign(new Error(m.message), m.code ? { code: m.code } : {});
      }
      wakeUp(job);
    });
    const lost = (e: Error): void => {
      this.gone ??= e;
      for (const job of this.jobs.values()) {
        job.settled = true;
        job.failure ??= e;
        wakeUp(job);
      }
    };
    this.worker.on('error', lost);
    this.worker.on('exit', (code) => lost(new Error(`blob writer thread exited with code ${code}`)));
  }

  send(m: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer);
  }
}

/**
 * Worker threads that hash and write blobs into a BlobStore, any number of
 * blobs at once. The threads start at once (each takes tens of milliseconds
 * of CPU to boot, best spent while the manifest and config are fetched) and
 * stay until close(); they do not keep the process alive.
 */
export class BlobWriterPool {
  private threads: WriterThread[] = [];
  private nextId = 0;

  /** Starts `threads` threads (at least one). */
  constructor(threads: number) {
    for (let i = 0; i < Math.max(1, threads); i++) this.threads.push(new WriterThread());
  }

  /**
   * Streams `source` into `store` under `expected.digest`. Rejects, storing
   * nothing, when the bytes' digest or size differ from `expected` (a
   * UserError from checkExpected, as BlobStore.putStream), when `source`
   * throws, or when the disk write fails.
   *
   * The chunks are taken over: a chunk that has a buffer to itself is
   * moved to the worker (and reads as empty here afterwards), so `source`
   * must not reuse or change a chunk once it has yielded it.
   */
  async put(store: BlobStore, source: AsyncIterable<Uint8Array>, expected: { digest: Digest; size: number }): Promise<void> {
    const thread = this.leastBusy();
    if (thread.gone) throw thread.gone;
    const tmp = await store.tempPath();
    const id = this.nextId++;
    const job: Job = { inFlight: 0, settled: false, result: undefined, failure: undefined, wake: undefined };
    thread.jobs.set(id, job);
    thread.worker.ref();
    try {
      thread.send({ type: 'open', id, path: tmp });
      let batch: Uint8Array[] = [];
      let batched = 0;
      const flush = async (): Promise<void> => {
        const chunks = batch;
        job.inFlight += batched;
        batch = [];
        batched = 0;
        thread.send({ type: 'data', id, chunks }, chunks.map((c) => c.buffer as ArrayBuffer));
        while (job.inFlight > MAX_IN_FLIGHT && !job.settled) await sleepUntilWoken(job);
      };
      for await (const chunk of source) {
        if (job.settled) break;
        if (chunk.length === 0) continue;
        batch.push(movable(chunk));
        batched += chunk.length;
        if (batched >= BATCH_BYTES) await flush();
      }
      if (batched > 0 && !job.settled) await flush();
      if (!job.settled) thread.send({ type: 'end', id });
      while (!job.settled) await sleepUntilWoken(job);
      if (job.failure) throw job.failure;
      const written = job.result as { digest: Digest; size: number };
      checkExpected(written, expected);
      await store.commitTemp(tmp, written.digest);
    } catch (e) {
      // the worker must let go of the file before it is removed, or it could create it again
      if (!job.settled) thread.send({ type: 'abort', id });
      while (!job.settled) await sleepUntilWoken(job);
      await rm(tmp, { force: true });
      throw e;
    } finally {
      thread.jobs.delete(id);
      if (thread.jobs.size === 0) thread.worker.unref();
    }
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  /** The thread with the fewest blobs; a thread that died is replaced first. */
  private leastBusy(): WriterThread {
    if (this.threads.length === 0) throw new Error('BlobWriterPool used after close()');
    this.threads = this.threads.map((t) => (t.gone && t.jobs.size === 0 ? new WriterThread() : t));
    return this.threads.reduce((best, t) => (t.jobs.size < best.jobs.size ? t : best));
  }
}

/**
 * The chunk itself when its buffer can be moved to another thread (it has
 * the whole of an ordinary ArrayBuffer to itself, as network chunks do),
 * else a copy that can.
 */
function movable(chunk: Uint8Array): Uint8Array {
  const whole = chunk.buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
  return whole ? chunk : new Uint8Array(chunk);
}

function sleepUntilWoken(job: Job): Promise<void> {
  return new Promise((resolve) => (job.wake = resolve));
}

function wakeUp(job: Job): void {
  const wake = job.wake;
  job.wake = undefined;
  wake?.();
}

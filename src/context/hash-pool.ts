/**
 * sha256 of many files, on every core: worker threads each read and hash a
 * batch of files with synchronous reads into one reused buffer. A small job
 * is hashed on the calling thread instead, where starting workers would cost
 * more than it saves.
 *
 *   const pool = new HashPool();
 *   const [r] = await pool.hash([{ path: '/ctx/a.txt', size: 12 }]);
 *   if (r.ok) r.sha256;   // and r.startedMs, when its read began
 *   await pool.close();
 *
 * Files are opened with O_NOFOLLOW, so a path swapped for a symlink after
 * the walk is an error rather than a read through the link.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** The result for one file: its sha256 (hex) and when its read began (ms since 1970), or the errno code that stopped it. */
export type HashOutcome = { ok: true; sha256: string; startedMs: number } | { ok: false; code: string };

/** A file to hash: its host path, and its size, which decides how work is split. */
export interface HashJob {
  path: string;
  size: number;
}

/** Below both of these, hashing stays on the calling thread. */
const INLINE_MAX_FILES = 256;
const INLINE_MAX_BYTES = 16 << 20;
/** A worker's batch: this many files or bytes, whichever comes first. */
const BATCH_FILES = 256;
const BATCH_BYTES = 8 << 20;
const READ_BUFFER = 1 << 20;

/**
 * Hashes one regular file. It runs inside workers from its source text, so it
 * may only use what it loads itself (and defines no named inner functions).
 */
function hashFile(path: string, buf: Buffer): HashOutcome {
  const fs = process.getBuiltinModule('node:fs');
  const crypto = process.getBuiltinModule('node:crypto');
  const startedMs = Date.now();
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, code: (e as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  try {
    // what was walked as a regular file may have been replaced (by a fifo, a device...) since
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { ok: false, code: 'ENOTREG' };
    // a short read of a regular file is its end: a small file takes one read and one-shot hashing
    let n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n >= st.size && n < buf.length) return { ok: true, sha256: crypto.hash('sha256', buf.subarray(0, n), 'hex'), startedMs };
    const hash = crypto.createHash('sha256');
    for (; n > 0; n = fs.readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
    return { ok: true, sha256: hash.digest('hex'), startedMs };
  } catch (e) {
    return { ok: false, code: (e as NodeJS.ErrnoException).code ?? 'EIO' };
  } finally {
    fs.closeSync(fd);
  }
}

/** A worker's main: hashes each batch of paths it is sent, answering in order. */
function workerMain(hash: typeof hashFile, bufferSize: number): void {
  const port = process.getBuiltinModule('node:worker_threads').parentPort;
  const buf = Buffer.allocUnsafe(bufferSize);
  port?.on('message', (paths: string[]) => {
    const out: HashOutcome[] = [];
    for (const p of paths) out.push(hash(p, buf));
    port.postMessage(out);
  });
}

const WORKER_SOURCE = `(${workerMain.toString()})(${hashFile.toString()}, ${READ_BUFFER});`;

interface PooledWorker {
  worker: Worker;
  /** Resolvers of the batches sent and not answered yet, oldest first. */
  waiting: { resolve: (r: HashOutcome[]) => void; reject: (e: unknown) => void }[];
}

/** A set of hashing workers, started on first use and kept until close(). */
export class HashPool {
  private workers: PooledWorker[] = [];
  private inlineBuffer: Buffer | undefined;

  constructor(private readonly threads = Math.max(1, Math.min(4, availableParallelism()))) {}

  /** Hashes every job; results are in the order of `jobs`. */
  async hash(jobs: readonly HashJob[]): Promise<HashOutcome[]> {
    const total = jobs.reduce((sum, j) => sum + j.size, 0);
    if (this.threads === 1 || (jobs.length < INLINE_MAX_FILES && total < INLINE_MAX_BYTES)) {
      this.inlineBuffer ??= Buffer.allocUnsafe(READ_BUFFER);
      const buf = this.inlineBuffer;
      return jobs.map((j) => hashFile(j.path, buf));
    }
    const batches = splitBatches(jobs);
    const results: HashOutcome[][] = new Array<HashOutcome[]>(batches.length);
    let next = 0;
    // two batches in flight per worker, so a worker never waits for the main thread
    const lanes = this.start().flatMap((w) => [w, w]);
    await Promise.all(
      lanes.map(async (w) => {
        while (next < batches.length) {
          const i = next++;
          results[i] = await this.send(w, (batches[i] as HashJob[]).map((j) => j.path));
        }
      }),
    );
    return results.flat();
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private start(): PooledWorker[] {
    while (this.workers.length < this.threads) {
      // no execArgv: a worker needs no loader flags (under tsx they would load it again in every worker)
      const pooled: PooledWorker = { worker: new Worker(WORKER_SOURCE, { eval: true, execArgv: [] }), waiting: [] };
      pooled.worker.unref();
      pooled.worker.on('message', (r: HashOutcome[]) => {
        pooled.waiting.shift()?.resolve(r);
        if (pooled.waiting.length === 0) pooled.worker.unref();
      });
      const fail = (e: unknown): void => {
        for (const w of pooled.waiting.splice(0)) w.reject(e);
        this.workers = this.workers.filter((x) => x !== pooled);
      };
      pooled.worker.on('error', fail);
      pooled.worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
      this.workers.push(pooled);
    }
    return this.workers;
  }

  private send(w: PooledWorker, paths: string[]): Promise<HashOutcome[]> {
    return new Promise((resolve, reject) => {
      w.waiting.push({ resolve, reject });
      // keep the process alive while a worker owes an answer
      w.worker.ref();
      w.worker.postMessage(paths);
    });
  }
}

function splitBatches(jobs: readonly HashJob[]): HashJob[][] {
  const out: HashJob[][] = [];
  let current: HashJob[] = [];
  let bytes = 0;
  for (const j of jobs) {
    if (current.length > 0 && (current.length >= BATCH_FILES || bytes + j.size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(j);
    bytes += j.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

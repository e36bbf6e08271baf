/**
 * `parallelGzip(source, { level })`: one gzip member compressed on several
 * cores, the way pigz does it.
 *
 * The input is cut into fixed-size blocks (at fixed offsets, so the output
 * depends only on the bytes and the level, never on how they arrived). Each
 * block is raw-deflated on libuv's thread pool with the previous 32 KiB of
 * input as a preset dictionary, so matches reach back across block
 * boundaries as in one long stream, and ends with a sync flush, which leaves
 * it byte-aligned and non-final. The blocks are emitted in order behind a
 * gzip header (no name, mtime 0, OS "Unix") and followed by an empty final
 * block and the CRC-32 and length of the whole input, giving a single valid
 * gzip stream that any inflater reads.
 *
 * Blocks that are already compressed data (media, archives, random bytes)
 * are recognised by a quick level-1 trial on slices spread over the block and
 * written as stored deflate blocks: deflate at any level would only reach the
 * same result after an expensive match search (it emits stored blocks when
 * they are smaller). The decision depends only on the block's bytes.
 *
 * Memory is bounded: at most `parallelism` blocks are in flight.
 */
import { constants, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';

export interface ParallelGzipOptions {
  /** 0 (store) to 9; default 6. */
  level?: number;
  /** Input bytes per block; at least 32 KiB. Default 1 MiB. */
  blockSize?: number;
  /**
   * Blocks in flight; default the thread-pool size plus two, so the pool is
   * never idle while the caller reads ahead.
   */
  parallelism?: number;
}

const WINDOW = 32 * 1024;
const DEFAULT_BLOCK = 1024 * 1024;
/** An empty fixed-Huffman block with BFINAL set: ends the deflate stream after sync-flushed blocks. */
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);
const OS_UNIX = 3;
const MAX_STORED = 65535;
const SAMPLE_SLICES = 8;
const SAMPLE_SLICE = 8 * 1024;
/** Compressed/plain ratio of the sample at or above which a block is stored. */
const INCOMPRESSIBLE = 0.98;

function header(level: number): Buffer {
  // XFL as zlib sets it: 2 for the slowest level, 4 for the fastest ones.
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, OS_UNIX]);
}

function deflateAsync(input: Buffer, opts: ZlibOptions): Promise<Buffer> {
  // One thread-pool round trip per call: the output buffer holds all of it.
  const all: ZlibOptions = { ...opts, chunkSize: input.length + (input.length >> 3) + 1024 };
  return new Promise((resolve, reject) => deflateRaw(input, all, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * Spread-out slices of the block, deflated fast: when even these do not
 * shrink, the block is already compressed data (images, archives, random
 * bytes), which deflate at any level would only emit as stored blocks after
 * an expensive match search.
 */
async function looksIncompressible(block: Buffer): Promise<boolean> {
  if (block.length < SAMPLE_SLICES * SAMPLE_SLICE) return false;
  const stride = Math.floor(block.length / SAMPLE_SLICES);
  const sample = Buffer.concat(Array.from({ length: SAMPLE_SLICES }, (_, i) => block.subarray(i * stride, i * stride + SAMPLE_SLICE)));
  const out = await deflateAsync(sample, { level: 1, finishFlush: constants.Z_SYNC_FLUSH });
  return out.length >= sample.length * INCOMPRESSIBLE;
}

/** The block as stored (uncompressed) deflate blocks, none final. */
function stored(block: Buffer): Buffer {
  const count = Math.ceil(block.length / MAX_STORED);
  const out = Buffer.allocUnsafe(block.length + count * 5);
  let at = 0;
  for (let from = 0; from < block.length; from += MAX_STORED) {
    const len = Math.min(MAX_STORED, block.length - from);
    out[at] = 0;
    out.writeUInt16LE(len, at + 1);
    out.writeUInt16LE(~len & 0xffff, at + 3);
    block.copy(out, at + 5, from, from + len);
    at += 5 + len;
  }
  return out;
}

async function compressBlock(block: Buffer, dictionary: Buffer | undefined, level: number): Promise<Buffer> {
  if (level > 0 && (await looksIncompressible(block))) return stored(block);
  return deflateAsync(block, { level, finishFlush: constants.Z_SYNC_FLUSH, ...(dictionary && { dictionary }) });
}

/** Re-cuts a chunk stream into blocks of exactly `size` bytes (the last may be shorter). */
async function* blocks(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let buffered = 0;
  for await (const chunk of source) {
    let at = 0;
    while (buffered + (chunk.length - at) >= size) {
      const take = size - buffered;
      pending.push(chunk.subarray(at, at + take));
      at += take;
      yield pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, size);
      pending = [];
      buffered = 0;
    }
    if (at < chunk.length) {
      pending.push(chunk.subarray(at));
      buffered += chunk.length - at;
    }
  }
  if (buffered > 0) yield Buffer.concat(pending, buffered);
}

/** gzip-compresses `source` on several threads; see the module comment. */
export async function* parallelGzip(source: AsyncIterable<Buffer>, opts: ParallelGzipOptions = {}): AsyncGenerator<Buffer> {
  const level = opts.level ?? 6;
  const blockSize = Math.max(opts.blockSize ?? DEFAULT_BLOCK, WINDOW);
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const parallelism = Math.max(1, opts.parallelism ?? poolSize + 2);
  const inFlight: Promise<Buffer>[] = [];
  let crc = 0;
  let length = 0;
  let previous: Buffer | undefined;
  yield header(level);
  try {
    for await (const block of blocks(source, blockSize)) {
      crc = crc32(block, crc);
      length += block.length;
      const dictionary = previous?.subarray(previous.length - WINDOW);
      inFlight.push(compressBlock(block, dictionary, level));
      previous = block;
      if (inFlight.length >= parallelism) yield await (inFlight.shift() as Promise<Buffer>);
    }
    while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Buffer>);
  } finally {
    // Rejections of blocks no one will wait for must not surface as unhandled.
    for (const p of inFlight) p.catch(() => undefined);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  yield Buffer.concat([FINAL_EMPTY_BLOCK, trailer]);
}

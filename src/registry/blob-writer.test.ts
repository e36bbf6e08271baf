import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../errors.ts';
import { BlobStore, digestOf } from '../image/blob-store.ts';
import { BlobWriterPool } from './blob-writer.ts';

let tmp: string;
let stores = 0;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-blob-writer-test-'));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function freshStore(): BlobStore {
  return new BlobStore(join(tmp, `store-${++stores}`));
}

/**
 * `bytes` in chunks of the given sizes, in turn: fresh buffers of their own
 * (as the network gives them, moved to the worker), views into a bigger
 * buffer and small pooled ones (both copied first).
 */
async function* chunksOf(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = Math.min(sizes[i % sizes.length] as number, bytes.length - at);
    const piece = bytes.subarray(at, at + n);
    if (i % 3 === 0) yield Uint8Array.from(piece);
    else if (i % 3 === 1) yield piece;
    else yield Buffer.from(piece);
    at += n;
  }
}

/** Runs `body` with a one-thread pool, closed after it. */
async function withPool(body: (pool: BlobWriterPool) => Promise<void>): Promise<void> {
  const pool = new BlobWriterPool(1);
  try {
    await body(pool);
  } finally {
    await pool.close();
  }
}

async function ingestLeft(store: BlobStore): Promise<string[]> {
  return readdir(join(store.root, 'ingest')).catch(() => []);
}

describe('BlobWriterPool', () => {
  test('stores a blob under its digest, byte for byte, whatever its chunks', async () => {
    await withPool(async (pool) => {
      const store = freshStore();
      const bytes = randomBytes(3 << 20);
      const digest = digestOf(bytes);
      await pool.put(store, chunksOf(bytes, [65536, 1000, 3, 300_000]), { digest, size: bytes.length });
      assert.deepEqual(await readFile(store.path(digest)), bytes);
      assert.deepEqual(await ingestLeft(store), []);
    });
  });

  test('several blobs at once on one thread, and an empty one', async () => {
    await withPool(async (pool) => {
      const store = freshStore();
      const blobs = [randomBytes(2 << 20), randomBytes(1 << 20), randomBytes(5000), Buffer.alloc(0)];
      await Promise.all(blobs.map((b) => pool.put(store, chunksOf(b, [65536]), { digest: digestOf(b), size: b.length })));
      for (const b of blobs) assert.deepEqual(await readFile(store.path(digestOf(b))), b);
    });
  });

  test('bytes that do not match the digest or the size: refused, nothing stored or left behind', async () => {
    await withPool(async (pool) => {
      const store = freshStore();
      const bytes = randomBytes(2 << 20);
      const claimed = digestOf('something else');
      await assert.rejects(pool.put(store, chunksOf(bytes, [65536]), { digest: claimed, size: bytes.length }), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.equal(e.message, `digest mismatch: expected ${claimed}, got ${digestOf(bytes)}`);
        return true;
    });
    assert.equal(await store.has(claimed), false);
    assert.equal(await store.has(digestOf(bytes)), false);
    const digest = digestOf(bytes);
    await assert.rejects(
      pool.put(store, chunksOf(bytes, [65536]), { digest, size: bytes.length + 1 }),
      new UserError(`size mismatch for ${digest}: expected ${bytes.length + 1} bytes, got ${bytes.length}`),
    );
    assert.equal(await store.has(digest), false);
    assert.deepEqual(await ingestLeft(store), []);
    });
  });

  test('a source that fails midway: its error, nothing left behind, and the thread serves the next blob', async () => {
    await withPool(async (pool) => {
      const store = freshStore();
      const bytes = randomBytes(3 << 20);
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield* chunksOf(bytes.subarray(0, 2 << 20), [65536]);
        throw new Error('connection lost');
      }
      await assert.rejects(pool.put(store, broken(), { digest: digestOf(bytes), size: bytes.length }), /connection lost/);
      assert.deepEqual(await ingestLeft(store), []);
      await pool.put(store, chunksOf(bytes, [65536]), { digest: digestOf(bytes), size: bytes.length });
      assert.ok(await store.has(digestOf(bytes)));
    });
  });

  test('a disk that fills up: the write error, the download stopped early, nothing left behind', async () => {
    // the temp file is a link to /dev/full, where every write fails with ENOSPC
    class FullDisk extends BlobStore {
      override async tempPath(): Promise<string> {
        const link = await super.tempPath();
        await symlink('/dev/full', link);
        return link;
      }
    }
    await withPool(async (pool) => {
      const store = new FullDisk(join(tmp, `store-${++stores}`));
      let sent = 0;
      async function* endless(): AsyncGenerator<Uint8Array> {
        for (; sent < 1000; sent++) yield new Uint8Array(65536);
      }
      await assert.rejects(pool.put(store, endless(), { digest: digestOf('x'), size: 65536000 }), { code: 'ENOSPC' });
      assert.ok(sent < 1000, `the source was read to its end (${sent} chunks)`);
      assert.deepEqual(await ingestLeft(store), []);
    });
  });

  test('a pool closed while a blob is being written: the write fails, nothing left behind', async () => {
    const pool = new BlobWriterPool(1);
    const store = freshStore();
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 100; i++) {
        if (i === 20) void pool.close();
        yield new Uint8Array(65536);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await assert.rejects(pool.put(store, slow(), { digest: digestOf('x'), size: 6553600 }), /blob writer thread exited/);
    assert.deepEqual(await ingestLeft(store), []);
  });
});

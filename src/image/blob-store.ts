import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.ts';
import { nodeCrypto } from '../lazy-crypto.ts';
import { randomHex } from '../random-hex.ts';
import type { Digest } from './oci.ts';

/** The sha256 digest of some bytes. */
export function digestOf(bytes: Uint8Array | string): Digest {
  return `sha256:${nodeCrypto().createHash('sha256').update(bytes).digest('hex')}`;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Whether `s` is a well-formed sha256 digest (lowercase hex, as the spec requires). */
export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** What a write stored: the digest and byte length of the blob. */
export interface StoredBlob {
  digest: Digest;
  size: number;
}

/**
 * The content-addressed blob store: `ROOT/sha256/<hex>`.
 *
 * A blob only ever appears under its digest's name complete and verified:
 * writes go to `ROOT/ingest/<random>` and are renamed into place after the
 * digest (and the expected size, when given) checked out. Rename is atomic,
 * so concurrent writers of the same blob are harmless and a crash leaves at
 * worst a stray file under `ingest/`.
 */
export class BlobStore {
  constructor(readonly root: string) {}

  /** Where the blob lives (whether or not it exists yet). */
  path(digest: Digest): string {
    if (!isDigest(digest)) throw new UserError(`invalid digest ${JSON.stringify(digest)}`);
    return join(this.root, 'sha256', digest.slice('sha256:'.length));
  }

  /** Whether the blob is in the store. */
  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** The stored blob's length in bytes. */
  async size(digest: Digest): Promise<number> {
    return (await stat(this.path(digest))).size;
  }

  /** Stores bytes under their digest. */
  async putBytes(bytes: Uint8Array): Promise<StoredBlob> {
    return this.putStream([bytes]);
  }

  /**
   * Streams bytes into the store. When `expected` is given, a digest or size
   * mismatch rejects (naming both digests) and nothing is stored.
   */
  async putStream(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | NodeJS.ReadableStream,
    expected?: { digest: Digest; size?: number },
  ): Promise<StoredBlob> {
    const tmp = await this.tempPath();
    const hash = nodeCrypto().createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        source as AsyncIterable<Uint8Array>,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      if (expected) checkExpected({ digest, size }, expected);
      await this.commitTemp(tmp, digest);
      return { digest, size };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * A fresh temp file path under `ingest/` for callers that produce a blob
   * themselves (e.g. the layer writer, which computes its own digests); hand it
   * back with `commitTemp`.
   */
  async tempPath(): Promise<string> {
    const dir = join(this.root, 'ingest');
    await mkdir(dir, { recursive: true });
    return join(dir, randomHex(24));
  }

  /** Renames a finished temp file into place under `digest` (trusted: the caller hashed it). */
  async commitTemp(tmp: string, digest: Digest): Promise<void> {
    const dest = this.path(digest);
    await mkdir(join(this.root, 'sha256'), { recursive: true });
    await rename(tmp, dest);
  }

  /** Reads a whole blob, verifying its digest. For small blobs (manifests, configs). */
  async readBytes(digest: Digest): Promise<Buffer> {
    const bytes = await readFile(this.path(digest));
    if (digestOf(bytes) !== digest) throw new UserError(`blob ${digest} is corrupt in ${this.root}`);
    return bytes;
  }

  /** A small blob parsed as JSON, its digest verified. */
  async readJson<T>(digest: Digest): Promise<T> {
    return JSON.parse((await this.readBytes(digest)).toString('utf8')) as T;
  }

  /** A read stream of a blob (not verified: large blobs are verified by their consumer). */
  createReadStream(digest: Digest): NodeJS.ReadableStream {
    return createReadStream(this.path(digest));
  }
}

/** Throws the user's error when written content is not the `expected` digest (or size, when given). */
export function checkExpected(got: { digest: Digest; size: number }, expected: { digest: Digest; size?: number }): void {
  if (expected.digest !== got.digest) throw new UserError(`digest mismatch: expected ${expected.digest}, got ${got.digest}`);
  if (expected.size !== undefined && expected.size !== got.size) {
    throw new UserError(`size mismatch for ${expected.digest}: expected ${expected.size} bytes, got ${got.size}`);
  }
}

/**
 * Turns an overlayfs upper dir (one build step's diff) into a gzipped OCI
 * layer blob.
 *
 * `writeLayer(diffDir, store, { sourceDateEpoch })` walks `diffDir` and
 * streams a deterministic tar through gzip into the blob store, hashing the
 * tar (the diffId) and the gzip bytes (the blob digest) on the way; nothing
 * is held in memory but the current chunk and the xattr listing.
 *
 * The same tree always gives the same bytes: entries sorted by name within
 * each directory (parents first), numeric ids only, whole-second mtimes
 * (clamped to `sourceDateEpoch` when given), gzip level 6 with a zeroed
 * header timestamp. The root of `diffDir` itself is not recorded.
 *
 * Overlay upper-dir conventions are translated to OCI ones:
 * - a 0:0 character device `X` becomes an empty file `.wh.X`;
 * - a directory with `trusted.overlay.opaque=y` gets a `DIR/.wh..wh..opq`
 *   entry right after its own entry;
 * - a file seen twice (same dev+ino) is a hardlink to its first path;
 * - sockets are dropped; `security.capability` and `user.*` xattrs are kept,
 *   `trusted.overlay.*` never leaks out.
 * Upper dirs written with `redirect_dir` or `metacopy` cannot be expressed
 * as a tar diff and are rejected.
 *
 * The walk uses synchronous fs calls: a layer is mostly small files and a
 * thread-pool round trip per lstat/open/read made it several times slower;
 * the output stream (gzip, hashing, writing) stays asynchronous.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createWriteStream, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { UserError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';
import { readXattrsTree, type XattrTree } from './fs-tools.ts';
import { MediaType, type Digest, type Layer } from './oci.ts';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader } from './tar-format.ts';

export interface WriteLayerOptions {
  /** Clamp every mtime to this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const READ_CHUNK = 1 << 20;
const BATCH = 256 * 1024;

/** Writes the layer for `diffDir` into `store` and describes it. */
export async function writeLayer(diffDir: string, store: BlobStore, opts: WriteLayerOptions = {}): Promise<Layer> {
  const root = resolve(diffDir);
  const xattrs = await readXattrsTree(root);
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  const tmp = await store.tempPath();
  try {
    await pipeline(
      tarStream(root, xattrs, opts.sourceDateEpoch),
      coalesce,
      tap(diffHash),
      createGzip({ level: 6 }),
      tap(blobHash, (n) => (size += n)),
      createWriteStream(tmp),
    );
    const digest: Digest = `sha256:${blobHash.digest('hex')}`;
    await store.commitTemp(tmp, digest);
    return {
      descriptor: { mediaType: MediaType.layerGzip, digest, size },
      diffId: `sha256:${diffHash.digest('hex')}`,
    };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Every write into zlib is a thread-pool round trip, so headers and small files go in batches. */
async function* coalesce(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    pending.push(chunk);
    size += chunk.length;
    if (size >= BATCH) {
      yield pending.length === 1 ? chunk : Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pending, size);
}

function tap(hash: Hash, count?: (n: number) => void) {
  return async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      hash.update(chunk);
      count?.(chunk.length);
      yield chunk;
    }
  };
}

interface Walk {
  root: string;
  xattrs: XattrTree;
  epoch: number | undefined;
  /** `dev:ino` → first tar path, for files that have more than one link. */
  links: Map<string, string>;
}

async function* tarStream(root: string, xattrs: XattrTree, epoch: number | undefined): AsyncGenerator<Buffer> {
  const walk: Walk = { root, xattrs, epoch, links: new Map() };
  const rootStat = lstatSync(root, { bigint: true });
  if (!rootStat.isDirectory()) throw new UserError(`layer source ${root} is not a directory`);
  yield* directory(walk, root, '', rootStat);
  yield END_OF_ARCHIVE;
}

interface Child {
  name: string;
  abs: string;
  st: BigIntStats;
  /** The name it has in the tar (differs for whiteouts). */
  tarName: string;
  whiteout: boolean;
}

/** The directory's children (its own entry is the caller's), opaque marker first. */
async function* directory(walk: Walk, abs: string, rel: string, st: BigIntStats): AsyncGenerator<Buffer> {
  const own = overlayXattrs(walk, abs);
  if (own.get('trusted.overlay.opaque')?.toString() === 'y') {
    yield encodeHeader({ ...baseHeader(walk, st), path: rel + OPAQUE_MARKER, type: 'file', mode: 0, uid: 0, gid: 0 });
  }
  const children: Child[] = [];
  for (const name of readdirSync(abs)) {
    const childAbs = join(abs, name);
    const cst = lstatSync(childAbs, { bigint: true });
    if (cst.isSocket()) continue;
    const whiteout = cst.isCharacterDevice() && cst.rdev === 0n;
    if (!whiteout && name.startsWith(WHITEOUT_PREFIX)) {
      throw new UserError(`${childAbs}: file names starting with ${WHITEOUT_PREFIX} are reserved for whiteouts`);
    }
    children.push({ name, abs: childAbs, st: cst, tarName: whiteout ? WHITEOUT_PREFIX + name : name, whiteout });
  }
  children.sort((a, b) => Buffer.compare(Buffer.from(a.tarName), Buffer.from(b.tarName)));
  for (const c of children) yield* entry(walk, c, rel + c.tarName);
}

function overlayXattrs(walk: Walk, abs: string): Map<string, Buffer> {
  const all = walk.xattrs.get(abs) ?? new Map<string, Buffer>();
  for (const name of all.keys()) {
    if (name === 'trusted.overlay.redirect' || name === 'trusted.overlay.metacopy') {
      throw new UserError(`${abs} has ${name}: mount the build overlay with redirect_dir=off,metacopy=off`);
    }
  }
  return all;
}

function baseHeader(walk: Walk, st: BigIntStats): Omit<TarHeader, 'path' | 'type'> {
  const mtime = Number(st.mtimeMs / 1000n);
  return {
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: 0,
    mtime: walk.epoch !== undefined ? Math.min(mtime, walk.epoch) : mtime,
  };
}

/** The xattrs a layer carries: capabilities and user attributes, never overlay bookkeeping. */
function keptXattrs(all: Map<string, Buffer>): Map<string, Buffer> | undefined {
  const kept = new Map<string, Buffer>();
  for (const [name, value] of all) {
    if (name === 'security.capability' || (name.startsWith('user.') && !name.startsWith('user.overlay.'))) {
      kept.set(name, value);
    }
  }
  return kept.size > 0 ? kept : undefined;
}

async function* entry(walk: Walk, c: Child, path: string): AsyncGenerator<Buffer> {
  const base = baseHeader(walk, c.st);
  if (c.whiteout) {
    yield encodeHeader({ ...base, path, type: 'file', mode: 0, uid: 0, gid: 0 });
    return;
  }
  const xattrs = keptXattrs(overlayXattrs(walk, c.abs));
  const header: TarHeader = { ...base, path, type: 'file', ...(xattrs && { xattrs }) };
  if (c.st.isDirectory()) {
    yield encodeHeader({ ...header, path: path + '/', type: 'directory' });
    yield* directory(walk, c.abs, path + '/', c.st);
    return;
  }
  if (c.st.nlink > 1n) {
    const key = `${c.st.dev}:${c.st.ino}`;
    const first = walk.links.get(key);
    if (first !== undefined) {
      yield encodeHeader({ ...header, type: 'link', linkname: first });
      return;
    }
    walk.links.set(key, path);
  }
  if (c.st.isSymbolicLink()) {
    yield encodeHeader({ ...header, type: 'symlink', linkname: readlinkSync(c.abs) });
  } else if (c.st.isFIFO()) {
    yield encodeHeader({ ...header, type: 'fifo' });
  } else if (c.st.isCharacterDevice() || c.st.isBlockDevice()) {
    yield encodeHeader({
      ...header,
      type: c.st.isCharacterDevice() ? 'char' : 'block',
      devmajor: Number(((c.st.rdev >> 8n) & 0xfffn) | ((c.st.rdev >> 32n) & ~0xfffn)),
      devminor: Number((c.st.rdev & 0xffn) | ((c.st.rdev >> 12n) & ~0xffn)),
    });
  } else {
    const size = Number(c.st.size);
    yield encodeHeader({ ...header, size });
    yield* fileBody(c.abs, size);
    yield padding(size);
  }
}

/** Exactly `size` bytes of the file, in fresh buffers (gzip may still hold earlier ones). */
function* fileBody(abs: string, size: number): Generator<Buffer> {
  const fd = openSync(abs, 'r');
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, READ_CHUNK));
      const bytesRead = readSync(fd, buf, 0, buf.length, size - left);
      if (bytesRead === 0) throw new Error(`${abs} shrank while it was being archived`);
      left -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The persistent stat cache: which sha256 a file had when its (device,
 * inode, size, mtime, ctime) were what they are now, so unchanged files are
 * not read again.
 *
 *   const cache = await StatCache.open(`${root}/context-cache/<id>.bin`);
 *   const key = stampKey(lstat);             // the lstat of the file, with bigint times
 *   cache.lookup(key) ?? hashAndRecord();    // cache.record(key, changedMs, sha256, readStartMs)
 *   await cache.save();
 *
 * The stamp recorded is the one taken before the read: if the file changes
 * in between, its ctime moves on, so that stamp never matches again.
 *
 * The racy case (git's "racy git" rule): a file changed twice within one
 * tick of its file system's clock keeps its timestamps, so a hash taken
 * within that tick of the last change may already be stale when the next
 * build trusts it. An entry is therefore only kept when the file's mtime and
 * ctime are at least RACY_WINDOW_MS older than the moment its read began; a
 * younger file is hashed again next time (and is then old enough). The window
 * is 2 s: it covers coarse file systems (FAT keeps 2 s, HFS+ and some network
 * file systems 1 s) and small clock differences.
 *
 * Several builds may share a root: the file is replaced atomically (write a
 * temp file, rename), a save merges with what is on disk first, and a lost
 * update only costs a re-hash. A corrupt or unknown file is ignored.
 *
 * File format: `TSBSTAT1`, a u32 record count, a u32 zero, the records (76
 * bytes each, little-endian, as on every platform tsbuild runs on: u64 dev,
 * u64 ino, u64 size, i64 mtime ns, i64 ctime ns, u32 last used (s since 1970),
 * 32-byte sha256), then the sha256 of everything before it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The stat fields that say a file is unchanged. */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Entries younger than this (ms) when their read began are not trusted. */
export const RACY_WINDOW_MS = 2000;

const MAGIC = Buffer.from('TSBSTAT1', 'latin1');
const HEADER = 16;
const RECORD = 76;
const TRAILER = 32;
const STAMP = 40;
const USED_AT = 40;
const HASH_AT = 44;
const DAY = 86_400;
/** Entries unused this long are dropped on save. */
const MAX_IDLE_S = 30 * DAY;
/** At most this many entries per cache file; the least recently used go first. */
const MAX_ENTRIES = 1_000_000;

export class StatCache {
  /** The loaded file; records are looked up in place. */
  private readonly data: Buffer;
  /** Stamp (the first 40 bytes of a record, as latin1) → offset of the record in `data`. */
  private readonly loaded: Map<string, number>;
  /** sha256 (hex) of the files this build hashed, by stamp. */
  private readonly added = new Map<string, string>();
  /** Racy results: reused within this build only, by stamp. */
  private readonly session = new Map<string, string>();
  private dirty = false;
  /** This build's "now" for last-used times (a build does not run for days). */
  private readonly now = nowSeconds();

  private constructor(
    /** Where the cache lives; undefined keeps it in memory only. */
    readonly file: string | undefined,
    data: Buffer,
  ) {
    this.data = data;
    this.loaded = new Map();
    for (let off = HEADER; off + RECORD <= data.length - TRAILER; off += RECORD) this.loaded.set(data.toString('latin1', off, off + STAMP), off);
  }

  /** Loads the cache file (a missing or corrupt one gives an empty cache). */
  static async open(file: string | undefined): Promise<StatCache> {
    return new StatCache(file, file === undefined ? Buffer.alloc(0) : await readCacheFile(file));
  }

  /** Number of trusted entries. */
  get size(): number {
    return this.loaded.size + this.added.size;
  }

  /** The sha256 (hex) of the file with this stamp (a stampKey), if known. */
  lookup(key: string): string | undefined {
    const off = this.loaded.get(key);
    if (off !== undefined) {
      if (this.now - this.data.readUInt32LE(off + USED_AT) > DAY) {
        this.data.writeUInt32LE(this.now, off + USED_AT);
        this.dirty = true;
      }
      return this.data.toString('hex', off + HASH_AT, off + RECORD);
    }
    return this.added.get(key) ?? this.session.get(key);
  }

  /**
   * Remembers that the file with stamp `key` (last changed at `changedMs`,
   * the later of its mtime and ctime) hashed to `sha256` (hex), its read
   * having begun at `readStartMs` (both ms since 1970). Racy entries are kept
   * for this build only.
   */
  record(key: string, changedMs: number, sha256: string, readStartMs: number): void {
    if (changedMs > readStartMs - RACY_WINDOW_MS) {
      this.session.set(key, sha256);
      return;
    }
    this.added.set(key, sha256);
    this.dirty = true;
  }

  /**
   * Writes the cache back, merged with what other builds saved meanwhile: per
   * file (device and inode) the newest state wins, entries unused for 30 days
   * go. A no-op when nothing changed.
   */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    const mine = Buffer.alloc(this.added.size * RECORD);
    let at = 0;
    for (const [key, sha256] of this.added) {
      mine.write(key, at, 'latin1');
      mine.writeUInt32LE(this.now, at + USED_AT);
      mine.write(sha256, at + HASH_AT, 'hex');
      at += RECORD;
    }
    // per file (device and inode), the newest record of: the file on disk now, what we loaded, what we added
    const byFile = new Map<string, [Buffer, number]>();
    const cutoff = this.now - MAX_IDLE_S;
    const consider = (data: Buffer, from: number, to: number): void => {
      for (let off = from; off + RECORD <= to; off += RECORD) {
        if (data.readUInt32LE(off + USED_AT) < cutoff) continue;
        const id = data.toString('latin1', off, off + 16);
        const other = byFile.get(id);
        if (!other || newer(data, off, other[0], other[1])) byFile.set(id, [data, off]);
      }
    };
    const disk = await readCacheFile(this.file);
    consider(disk, HEADER, disk.length - TRAILER);
    consider(this.data, HEADER, this.data.length - TRAILER);
    consider(mine, 0, mine.length);
    let kept = [...byFile.values()];
    if (kept.length > MAX_ENTRIES) kept = kept.sort(([a, ao], [b, bo]) => b.readUInt32LE(bo + USED_AT) - a.readUInt32LE(ao + USED_AT)).slice(0, MAX_ENTRIES);
    const data = Buffer.alloc(HEADER + kept.length * RECORD + TRAILER);
    MAGIC.copy(data);
    data.writeUInt32LE(kept.length, 8);
    kept.forEach(([src, off], i) => src.copy(data, HEADER + i * RECORD, off, off + RECORD));
    const body = data.subarray(0, data.length - TRAILER);
    createHash('sha256').update(body).digest().copy(data, body.length);
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, data);
      await rename(tmp, this.file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    this.dirty = false;
  }
}

// a BigInt typed array turns a stamp into bytes far faster than Buffer.writeBigUInt64LE
const stampWords = new BigUint64Array(5);
const stampBytes = Buffer.from(stampWords.buffer);

/**
 * A file's stamp as the 40 bytes the cache file stores (u64 dev, ino, size,
 * mtime ns, ctime ns; times before 1970 in two's complement), as a latin1
 * string: the key lookups use.
 */
export function stampKey(s: FileStamp): string {
  stampWords[0] = s.dev;
  stampWords[1] = s.ino;
  stampWords[2] = s.size;
  stampWords[3] = s.mtimeNs;
  stampWords[4] = s.ctimeNs;
  return stampBytes.toString('latin1', 0, STAMP);
}

/** Whether record `a` (at `ao`) is a later state of its file than `b` (at `bo`): later ctime, else later use. */
function newer(a: Buffer, ao: number, b: Buffer, bo: number): boolean {
  const ca = a.readBigInt64LE(ao + 32);
  const cb = b.readBigInt64LE(bo + 32);
  return ca !== cb ? ca > cb : a.readUInt32LE(ao + USED_AT) > b.readUInt32LE(bo + USED_AT);
}

/** A cache file's bytes when it is intact, else an empty buffer. */
async function readCacheFile(file: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return Buffer.alloc(0);
  }
  if (data.length < HEADER + TRAILER || !data.subarray(0, 8).equals(MAGIC)) return Buffer.alloc(0);
  const count = data.readUInt32LE(8);
  if (data.length !== HEADER + count * RECORD + TRAILER) return Buffer.alloc(0);
  const body = data.subarray(0, data.length - TRAILER);
  return createHash('sha256').update(body).digest().equals(data.subarray(body.length)) ? data : Buffer.alloc(0);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

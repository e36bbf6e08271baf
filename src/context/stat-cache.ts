/**
 * The persistent stat cache: which sha256 a file had when its (device,
 * inode, size, mtime, ctime) were what they are now, so unchanged files are
 * not read again; and which names a directory held when its stamp was what
 * it is now, so unchanged directories are not listed again (creating,
 * removing or renaming an entry changes a directory's mtime and ctime).
 *
 *   const cache = await StatCache.open(`${root}/context-cache/<id>.bin`);
 *   const key = stampKey(lstatSync(path));   // plain or bigint stats: the same key
 *   // for the regular files a walk meets: cache.fileStamp(dev, ino, size, mtimeMs, ctimeMs), the same key
 *   cache.lookup(key) ?? hashAndRecord();    // cache.record(key, changedMs, sha256, readStartMs)
 *   cache.listing(dirKey) ?? listAndRecord(); // cache.recordListing(dirKey, changedMs, listing, readStartMs)
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
 * file systems 1 s) and small clock differences. Directory listings follow
 * the same rule.
 *
 * Times are kept as Node's plain lstat gives them: ms with a sub-ms fraction
 * (a double, so exact to about a quarter of a microsecond). That is enough:
 * a trusted entry's file last changed 2 s before its read, so any later
 * change has a ctime at least that much later. Device and inode numbers stay
 * exact (past 2^53, as overlayfs gives lower layers, the bigint form is used).
 *
 * Records are kept in the order builds meet files (a walk's order): a save
 * puts a file's new record where the lookup missed it, so in the next build
 * the walk and the lookups find each record where they expect the next one,
 * without an index, and an unchanged file's stamp is a slice of the file
 * read rather than a string made for it (fileStamp).
 *
 * Several builds may share a root: the file is replaced atomically (write a
 * temp file, rename), a save merges with what is on disk first, and a lost
 * update only costs a re-hash. A corrupt or unknown file is ignored.
 *
 * File format: `TSBSTAT2`, a u32 file record count, a u32 byte length of the
 * listings, the file records (108 bytes each, little-endian, as on every
 * platform tsbuild runs on: the 40-byte stamp (u64 dev, u64 ino, u64 size,
 * f64 mtime ms, f64 ctime ms), u32 last used (s since 1970), the sha256 as
 * 64 lower-case hex digits), the listings (each: the directory's stamp, u32
 * last used, u32 name count, u32 byte length of the names, the names in
 * UTF-8 each followed by NUL, one byte per name: `d` for a directory, `-`
 * otherwise), then the sha256 of everything before it. The hash is kept as
 * text so that a lookup is a slice of the file read as one latin1 string.
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, statSync, type BigIntStats, type Stats } from 'node:fs';
import { nodeCrypto } from '../lazy-crypto.ts';
import { writeFileAtomic } from '../write-file-atomic.ts';

/** The stat fields that say a file is unchanged: an lstat result, plain or bigint. */
export type FileStamp = Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'> | Pick<BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>;

/** A directory's names, sorted as the walk sorts them, and per name `d` for a directory or `-` for anything else. */
export interface DirListing {
  names: readonly string[];
  types: string;
}

/** Entries younger than this (ms) when their read began are not trusted. */
export const RACY_WINDOW_MS = 2000;

const MAGIC = Buffer.from('TSBSTAT2', 'latin1');
const HEADER = 16;
const RECORD = 108;
const TRAILER = 32;
const STAMP = 40;
/** The part of a stamp that names the file: device and inode. */
const ID = 16;
const USED_AT = 40;
const HASH_AT = 44;
/** A listing's fixed part: stamp, last used, name count, byte length of the names. */
const LISTING_HEAD = 52;
/** Where a listing's name count and the byte length of its names are, from its start. */
const COUNT_AT = 44;
const NAMES_BYTES_AT = 48;
const DAY = 86_400;
/** Entries unused this long are dropped on save. */
const MAX_IDLE_S = 30 * DAY;
/** At most this many file records per cache file; the least recently used go first. */
const MAX_ENTRIES = 1_000_000;

export class StatCache {
  /** The loaded file; records are looked up in place. */
  private readonly data: Buffer;
  /** `data` as latin1: stamps and hashes are slices of it, far cheaper than a conversion each. */
  private readonly text: string;
  /** `data` as numbers: a record is compared with a file's stat numbers without making a string of either. */
  private readonly view: DataView;
  /** Where the loaded file records end. */
  private readonly end: number;
  /**
   * Where the next lookup is likely answered: lookups come in walk order, the
   * order a save writes them in, so most are one comparison at this offset.
   */
  private next = HEADER;
  /** Where the walk's next regular file is likely recorded (see fileStamp). */
  private walked = HEADER;
  /** Stamp (the first 40 bytes of a record, as latin1) → offset of the record: for lookups out of order, made on the first. */
  private index: Map<string, number> | undefined;
  /**
   * Where the record of a file this build did not find belongs among the
   * loaded ones, by stamp: before the record at this offset, so that a save
   * keeps the records in the order lookups come in (none: at the end).
   */
  private readonly places = new Map<string, number>();
  /** Stamp of a directory → offset of its loaded listing. */
  private readonly listings = new Map<string, number>();
  /** sha256 (hex) of the files this build hashed, by stamp. */
  private readonly added = new Map<string, string>();
  /** Racy results: reused within this build only, by stamp. */
  private readonly session = new Map<string, string>();
  /** Directory listings this build read, by stamp. */
  private readonly addedListings = new Map<string, DirListing>();
  private dirty = false;
  /** This build's "now" for last-used times (a build does not run for days). */
  private readonly now = nowSeconds();

  private constructor(
    /** Where the cache lives; undefined keeps it in memory only. */
    readonly file: string | undefined,
    data: Buffer,
    /** Which file `data` was read from (see fileVersion): when it is still in place, a save need not read it again. */
    private readonly version: string,
    layout: Layout | undefined,
  ) {
    this.data = data;
    this.text = data.toString('latin1');
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.end = layout?.end ?? HEADER;
    for (const off of layout?.listings ?? []) this.listings.set(this.text.slice(off, off + STAMP), off);
  }

  /** Loads the cache file (a missing or corrupt one gives an empty cache). */
  static async open(file: string | undefined): Promise<StatCache> {
    if (file === undefined) return new StatCache(file, Buffer.alloc(0), '', undefined);
    const { data, version, layout } = readCacheFile(file);
    return new StatCache(file, data, version, layout);
  }

  /** Number of trusted file entries. */
  get size(): number {
    return (this.end - HEADER) / RECORD + this.added.size;
  }

  /**
   * stampKeyOf for a regular file met by a walk. Walks meet files in the
   * order of the records, so the record expected next usually has this very
   * stamp: then the stamp returned is that record's, a slice of the loaded
   * file, and no string is made.
   */
  fileStamp(dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number): string {
    putStamp(dev, ino, size, mtimeMs, ctimeMs);
    const at = this.walked;
    if (at + RECORD > this.end) return stampBytes.toString('latin1', 0, STAMP);
    if (this.recordHas(at, STAMP)) {
      this.walked = at + RECORD;
      return this.text.slice(at, at + STAMP);
    }
    const key = stampBytes.toString('latin1', 0, STAMP);
    // the file recorded there changed since (same device and inode): go on after it; else the walk left the
    // records' order (files added or removed): go on after this file's record, if there is one
    const off = this.recordHas(at, ID) ? at : this.byStamp().get(key);
    if (off !== undefined) this.walked = off + RECORD;
    return key;
  }

  /** The sha256 (hex) of the file with this stamp (a stampKey), if known. */
  lookup(key: string): string | undefined {
    const off = this.find(key);
    if (off !== undefined) {
      this.next = off + RECORD;
      this.used(off);
      return this.text.slice(off + HASH_AT, off + RECORD);
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

  /** The listing of the directory with this stamp (a stampKey), if a build has read it. */
  listing(key: string): DirListing | undefined {
    const off = this.listings.get(key);
    if (off === undefined) return this.addedListings.get(key);
    this.used(off);
    const count = this.data.readUInt32LE(off + COUNT_AT);
    const bytes = this.data.readUInt32LE(off + NAMES_BYTES_AT);
    const at = off + LISTING_HEAD;
    // each name is followed by NUL
    const names = count === 0 ? [] : this.data.toString('utf8', at, at + bytes - 1).split('\0');
    return names.length === count ? { names, types: this.text.slice(at + bytes, at + bytes + count) } : undefined;
  }

  /**
   * Remembers the listing of the directory with stamp `key` (last changed at
   * `changedMs`), read from `readStartMs` on. A racy one is not kept.
   */
  recordListing(key: string, changedMs: number, listing: DirListing, readStartMs: number): void {
    if (changedMs > readStartMs - RACY_WINDOW_MS) return;
    this.addedListings.set(key, listing);
    this.dirty = true;
  }

  /**
   * Writes the cache back, merged with what other builds saved meanwhile: per
   * file or directory (device and inode) the newest state wins, entries
   * unused for 30 days go. A no-op when nothing changed.
   */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    // this build's records as one latin1 string: far cheaper than writing them field by field
    const used = usedAtText(this.now);
    const parts: string[] = [];
    // where each goes, when some record has a place (a cold build's have none: they all go last)
    const places: number[] | undefined = this.places.size > 0 ? [] : undefined;
    this.added.forEach((sha256, key) => {
      parts.push(key, used, sha256);
      places?.push(this.places.get(key) ?? this.end);
    });
    const mine = Buffer.from(parts.join(''), 'latin1');
    const mineListings = encodeListings(this.addedListings, used);
    const cutoff = this.now - MAX_IDLE_S;
    // per file (device and inode), the newest record of: the file on disk now, what we loaded, what we added;
    // the file on disk is usually the one loaded (builds replace it, never write into it)
    const unchanged = fileVersion(this.file) === this.version;
    const loaded = unchanged ? [this.data] : [readCacheFile(this.file).data, this.data];
    const records = unchanged ? mergeLoaded(this.data, mine, places, cutoff) : merge(loaded, mine, cutoff);
    const data = seal(records, mergeListings(loaded, mineListings, cutoff));
    await writeFileAtomic(this.file, data);
    this.dirty = false;
  }

  /** The offset of the loaded record with stamp `key`; when there is none, notes where a record of it belongs (places). */
  private find(key: string): number | undefined {
    const at = this.next;
    if (at + RECORD <= this.end) {
      if (this.text.startsWith(key, at)) return at;
      // the record expected here is of the same file (device and inode): the file changed, its new record takes
      // this place; no other record can have the key (one per file), so no index is needed
      if (this.text.startsWith(key.slice(0, ID), at)) {
        this.next = at + RECORD;
        this.places.set(key, at);
        return undefined;
      }
    }
    const off = this.byStamp().get(key);
    if (off === undefined && at < this.end) this.places.set(key, at);
    return off;
  }

  private byStamp(): Map<string, number> {
    if (!this.index) {
      this.index = new Map();
      for (let off = HEADER; off + RECORD <= this.end; off += RECORD) this.index.set(this.text.slice(off, off + STAMP), off);
    }
    return this.index;
  }

  /** Whether the loaded record at `at` starts with the first `bytes` bytes of the stamp last put (putStamp). */
  private recordHas(at: number, bytes: number): boolean {
    // signed words: they are small integers, where unsigned ones past 2^31 would be boxed numbers until optimized
    for (let i = 0; i < bytes; i += 4) if (this.view.getInt32(at + i, true) !== stampInts[i >> 2]) return false;
    return true;
  }

  /** Marks the loaded record or listing at `off` as used now (once a day is enough for the 30-day rule). */
  private used(off: number): void {
    if (this.now - this.data.readUInt32LE(off + USED_AT) <= DAY) return;
    this.data.writeUInt32LE(this.now, off + USED_AT);
    this.dirty = true;
  }
}

// typed arrays over one buffer turn a stamp into bytes far faster than Buffer's write methods
const stampWords = new Uint32Array(10);
const stampBigs = new BigUint64Array(stampWords.buffer);
const stampTimes = new Float64Array(stampWords.buffer);
const stampBytes = Buffer.from(stampWords.buffer);
const stampInts = new Int32Array(stampWords.buffer);
const TWO_32 = 2 ** 32;

/**
 * A file's stamp as the 40 bytes the cache file stores (u64 dev, ino, size,
 * f64 mtime ms, ctime ms), as a latin1 string: the key lookups use. Plain and
 * bigint stats of the same state give the same key.
 */
export function stampKey(s: FileStamp): string {
  if ('mtimeNs' in s) {
    stampBigs[0] = s.dev;
    stampBigs[1] = s.ino;
    stampBigs[2] = s.size;
    stampTimes[3] = msOf(s.mtimeNs);
    stampTimes[4] = msOf(s.ctimeNs);
    return stampBytes.toString('latin1', 0, STAMP);
  }
  return stampKeyOf(s.dev, s.ino, s.size, s.mtimeMs, s.ctimeMs);
}

/** stampKey from plain lstat numbers (device and inode below 2^53). */
export function stampKeyOf(dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number): string {
  putStamp(dev, ino, size, mtimeMs, ctimeMs);
  return stampBytes.toString('latin1', 0, STAMP);
}

/** Puts a stamp's 40 bytes in stampBytes (little-endian, as the cache file has them). */
function putStamp(dev: number, ino: number, size: number, mtimeMs: number, ctimeMs: number): void {
  putU64(0, dev);
  putU64(1, ino);
  putU64(2, size);
  stampTimes[3] = mtimeMs;
  stampTimes[4] = ctimeMs;
}

/** When the file of a stamp (a stampKey) last changed: the later of its mtime and ctime, in ms since 1970. */
export function changedMsOfStamp(stamp: string): number {
  stampBytes.write(stamp, 0, STAMP, 'latin1');
  return Math.max(stampTimes[3] as number, stampTimes[4] as number);
}

/**
 * The stamp of whatever is at `path` now (no link followed), as the build
 * context's entries carry it; undefined when there is nothing. Plain stats,
 * unless device or inode numbers need the exact bigint form.
 */
export function stampOfPath(path: string): string | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st && (st.ino > Number.MAX_SAFE_INTEGER || st.dev > Number.MAX_SAFE_INTEGER)) {
    const exact = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    return exact && stampKey(exact);
  }
  return st && stampKey(st);
}

/** A non-negative integer below 2^53 as the `at`-th u64 of the stamp. */
function putU64(at: number, n: number): void {
  const low = n % TWO_32;
  stampWords[2 * at] = low;
  stampWords[2 * at + 1] = (n - low) / TWO_32;
}

/** ns since 1970 as Node's plain stats give it: seconds × 1e3 + the ns within the second / 1e6. */
export function msOf(ns: bigint): number {
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  return Number(sec) * 1e3 + Number(nsec) / 1e6;
}

/** A last-used time as the 4 latin1 characters of its u32. */
function usedAtText(seconds: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(seconds);
  return b.toString('latin1');
}

/** Where a cache file's parts are: its file records end at `end`, its listings start at the offsets given. */
interface Layout {
  end: number;
  listings: number[];
}

/** The layout of a cache file; undefined when it is not a well-formed one. */
function layoutOf(data: Buffer): Layout | undefined {
  if (data.length < HEADER + TRAILER || !data.subarray(0, 8).equals(MAGIC)) return undefined;
  const end = HEADER + data.readUInt32LE(8) * RECORD;
  const stop = end + data.readUInt32LE(12);
  if (stop + TRAILER !== data.length) return undefined;
  const listings: number[] = [];
  let off = end;
  for (; off < stop; off = listingEnd(data, off)) {
    if (off + LISTING_HEAD > stop) return undefined;
    listings.push(off);
  }
  return off === stop ? { end, listings } : undefined;
}

function listingEnd(data: Buffer, off: number): number {
  return off + LISTING_HEAD + data.readUInt32LE(off + NAMES_BYTES_AT) + data.readUInt32LE(off + COUNT_AT);
}

/** The listings as the listing part of a cache file, marked as used at `used` (usedAtText). */
function encodeListings(listings: ReadonlyMap<string, DirListing>, used: string): Buffer {
  const parts: Buffer[] = [];
  listings.forEach((listing, key) => {
    const names = Buffer.from(listing.names.map((n) => `${n}\0`).join(''), 'utf8');
    const head = Buffer.from(`${key}${used}\0\0\0\0\0\0\0\0`, 'latin1');
    head.writeUInt32LE(listing.names.length, COUNT_AT);
    head.writeUInt32LE(names.length, NAMES_BYTES_AT);
    parts.push(head, names, Buffer.from(listing.types, 'latin1'));
  });
  return Buffer.concat(parts);
}

/** The listing part of a cache file: of the cache files `files` and of `mine` (a listing part), per directory the newest, leaving out those last used before `cutoff`. */
function mergeListings(files: readonly Buffer[], mine: Buffer, cutoff: number): Buffer {
  const byDir = new Map<string, [Buffer, number]>();
  const consider = (data: Buffer, offsets: readonly number[]): void => {
    for (const off of offsets) {
      if (data.readUInt32LE(off + USED_AT) < cutoff) continue;
      const id = data.toString('latin1', off, off + 16);
      const other = byDir.get(id);
      if (!other || newer(data, off, other[0], other[1])) byDir.set(id, [data, off]);
    }
  };
  for (const f of files) consider(f, layoutOf(f)?.listings ?? []);
  const own: number[] = [];
  for (let off = 0; off < mine.length; off = listingEnd(mine, off)) own.push(off);
  consider(mine, own);
  return Buffer.concat([...byDir.values()].map(([data, off]) => data.subarray(off, listingEnd(data, off))));
}

/**
 * The file records part of a cache file (header space included) of the
 * records of `loaded` (a cache file, one record per file) and `mine`, per
 * file the newest, leaving out those last used before `cutoff`. The i-th
 * record of `mine` goes before the loaded record at offset `places[i]` (or
 * after them all: for the offset where they end, or without `places`), so
 * the order builds meet the files in is kept. Records are copied in runs,
 * and a loaded record is only compared when a record of `mine` has its inode
 * number.
 */
function mergeLoaded(loaded: Buffer, mine: Buffer, places: readonly number[] | undefined, cutoff: number): Buffer {
  // the records of mine by the low 32 bits of their inode: a cheap first test, the whole id decides
  const byInode = new Map<number, number>();
  for (let off = 0; off < mine.length; off += RECORD) {
    const inode = mine.readUInt32LE(off + 8);
    // two records for one file (it changed between two digests of this build), or a clash: the general way
    if (byInode.has(inode)) return merge([loaded], mine, cutoff);
    byInode.set(inode, off);
  }
  const superseded = new Set<number>();
  const dropped: number[] = [];
  const end = layoutOf(loaded)?.end ?? HEADER;
  for (let off = HEADER; off < end; off += RECORD) {
    let keep = loaded.readUInt32LE(off + USED_AT) >= cutoff;
    const other = keep ? byInode.get(loaded.readUInt32LE(off + 8)) : undefined;
    if (other !== undefined && loaded.compare(mine, other, other + ID, off, off + ID) === 0) {
      if (newer(mine, other, loaded, off)) keep = false;
      else superseded.add(other);
    }
    if (!keep) dropped.push(off);
  }
  const out = Buffer.alloc(end + mine.length);
  let at = HEADER;
  // the loaded records before `from` are done, and the dropped ones before dropped[d]
  let from = HEADER;
  let d = 0;
  const copyLoadedUpTo = (to: number): void => {
    for (; d < dropped.length && (dropped[d] as number) < to; d++) {
      const off = dropped[d] as number;
      if (off > from) at += loaded.copy(out, at, from, off);
      from = off + RECORD;
    }
    if (to > from) {
      at += loaded.copy(out, at, from, to);
      from = to;
    }
  };
  for (const run of runsByPlace(mine, places, end, superseded)) {
    copyLoadedUpTo(run.place);
    at += mine.copy(out, at, run.from, run.to);
  }
  copyLoadedUpTo(end);
  return out.subarray(0, at);
}

/** The records of `mine` (but the superseded ones) as runs of consecutive ones going to one place (see mergeLoaded), by place. */
function runsByPlace(mine: Buffer, places: readonly number[] | undefined, end: number, superseded: ReadonlySet<number>): { place: number; from: number; to: number }[] {
  const runs: { place: number; from: number; to: number }[] = [];
  for (let off = 0; off < mine.length; off += RECORD) {
    if (superseded.has(off)) continue;
    const place = Math.min(places?.[off / RECORD] ?? end, end);
    const last = runs[runs.length - 1];
    if (last && last.place === place && last.to === off) last.to += RECORD;
    else runs.push({ place, from: off, to: off + RECORD });
  }
  // a stable sort: runs for one place keep their order
  return runs.sort((a, b) => a.place - b.place);
}

/** The file records part of a cache file (header space included) of the cache files `files` and of `mine`, per file the newest, leaving out those last used before `cutoff`. */
function merge(files: readonly Buffer[], mine: Buffer, cutoff: number): Buffer {
  const byFile = new Map<string, [Buffer, number]>();
  const consider = (data: Buffer, from: number, to: number): void => {
    for (let off = from; off + RECORD <= to; off += RECORD) {
      if (data.readUInt32LE(off + USED_AT) < cutoff) continue;
      const id = data.toString('latin1', off, off + 16);
      const other = byFile.get(id);
      if (!other || newer(data, off, other[0], other[1])) byFile.set(id, [data, off]);
    }
  };
  for (const f of files) consider(f, HEADER, layoutOf(f)?.end ?? HEADER);
  consider(mine, 0, mine.length);
  const kept = [...byFile.values()];
  const out = Buffer.alloc(HEADER + kept.length * RECORD);
  kept.forEach(([src, off], i) => src.copy(out, HEADER + i * RECORD, off, off + RECORD));
  return out;
}

/** A cache file of its file records part (header space included) and listing part: header and trailer filled in, at most MAX_ENTRIES records, the most recently used. */
function seal(records: Buffer, listings: Buffer): Buffer {
  let count = (records.length - HEADER) / RECORD;
  if (count > MAX_ENTRIES) {
    const offsets = Array.from({ length: count }, (_, i) => HEADER + i * RECORD).sort((a, b) => records.readUInt32LE(b + USED_AT) - records.readUInt32LE(a + USED_AT));
    const kept = Buffer.alloc(HEADER + MAX_ENTRIES * RECORD);
    offsets.slice(0, MAX_ENTRIES).forEach((off, i) => records.copy(kept, HEADER + i * RECORD, off, off + RECORD));
    records = kept;
    count = MAX_ENTRIES;
  }
  const data = Buffer.concat([records, listings, Buffer.alloc(TRAILER)]);
  MAGIC.copy(data);
  data.writeUInt32LE(count, 8);
  data.writeUInt32LE(listings.length, 12);
  const body = data.subarray(0, data.length - TRAILER);
  nodeCrypto().createHash('sha256').update(body).digest().copy(data, body.length);
  return data;
}

/** Whether record or listing `a` (at `ao`) is a later state of its file or directory than `b` (at `bo`): later ctime, else later use. */
function newer(a: Buffer, ao: number, b: Buffer, bo: number): boolean {
  const ca = a.readDoubleLE(ao + 32);
  const cb = b.readDoubleLE(bo + 32);
  return ca !== cb ? ca > cb : a.readUInt32LE(ao + USED_AT) > b.readUInt32LE(bo + USED_AT);
}

/**
 * A cache file's bytes when it is intact (else an empty buffer), and its
 * fileVersion. Read with synchronous calls: a few of them, far cheaper than
 * the round trips of a promise-based read in chunks.
 */
function readCacheFile(file: string): { data: Buffer; version: string; layout?: Layout } {
  const empty = { data: Buffer.alloc(0), version: '' };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return empty;
  }
  let data: Buffer;
  let version: string;
  try {
    version = versionOf(fstatSync(fd));
    data = readFileSync(fd);
  } catch {
    return empty;
  } finally {
    closeSync(fd);
  }
  const layout = layoutOf(data);
  const body = data.subarray(0, data.length - TRAILER);
  const intact = layout !== undefined && nodeCrypto().createHash('sha256').update(body).digest().equals(data.subarray(body.length));
  return intact ? { data, version, layout } : { data: Buffer.alloc(0), version };
}

/** Which file is at `path` now: its identity and last change ('' when there is none). */
function fileVersion(path: string): string {
  return versionOf(statSync(path, { throwIfNoEntry: false }));
}

function versionOf(st: Stats | undefined): string {
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '';
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

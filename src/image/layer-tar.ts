/**
 * `layerTar(diffDir, { sourceDateEpoch })`: the deterministic OCI layer tar
 * of an overlayfs upper dir, as a stream of large chunks.
 *
 * The same tree always gives the same bytes: entries sorted by name within
 * each directory (parents first), numeric ids only, whole-second mtimes
 * (clamped to `sourceDateEpoch` when given). The root of `diffDir` itself is
 * not recorded.
 *
 * Diff-dir conventions (executor/diff-dirs.ts) are translated to OCI ones,
 * giving the same bytes whichever form (image/whiteouts.ts) the dir holds:
 * - a 0:0 character device `X`, or a marker file `.wh.X`, becomes an empty
 *   file `.wh.X`;
 * - a directory with `trusted.overlay.opaque=y`, or holding a marker file
 *   `.wh..wh..opq`, gets one `DIR/.wh..wh..opq` entry right after its own
 *   entry (with the directory's mtime);
 * - any other name starting with `.wh.` is refused (the prefix is reserved);
 * - a file seen twice (same dev+ino) is a hardlink to its first path;
 * - sockets are dropped; `security.capability` and `user.*` xattrs are kept,
 *   `trusted.overlay.*` never leaks out.
 * Upper dirs written with `redirect_dir` or `metacopy` cannot be expressed
 * as a tar diff and are rejected.
 *
 * Speed: the archive is written straight into fixed-size chunk buffers
 * (file contents are read into them, no per-entry buffers or streams), with
 * synchronous fs calls, since a layer is mostly small files and a thread-pool
 * round trip per lstat/open/read cost several times more. The chunks are
 * fresh buffers, never reused, so consumers may hold on to them. The xattr
 * listing (one `getfattr` process, needed before the first header) runs
 * while the walk goes ahead, reading small files into memory (at most 32 MiB)
 * so that the wait is not idle. (Reading files on a worker thread was tried:
 * on a busy two-core machine its hand-offs cost more than they saved.)
 */
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { readXattrsTree, type XattrTree } from './fs-tools.ts';
import { BLOCK, END_OF_ARCHIVE, encodeHeader, writeUstarHeader, type TarHeader } from './tar-format.ts';
import { deletedBy, isMarker, isWhiteoutDevice, OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX } from './whiteouts.ts';

export interface LayerTarOptions {
  /** Clamp every mtime to this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
}

/** Bytes per emitted chunk: equal to the gzip block size, so blocks need no copying. */
const CHUNK = 1024 * 1024;
/**
 * While `getfattr` runs, the walk goes ahead (at most this many entries),
 * reading small files into memory (at most this many bytes in all).
 */
const AHEAD_ENTRIES = 100_000;
const AHEAD_BYTES = 32 * 1024 * 1024;
const SMALL_FILE = 256 * 1024;
/** Entries walked between looks at whether `getfattr` is done. */
const SLICE = 256;

/** `opaque`: a directory's marker file, standing for the directory (its `abs` and `st`). */
type Kind = 'dir' | 'file' | 'symlink' | 'fifo' | 'char' | 'block' | 'whiteout' | 'opaque';

/** The lstat fields a tar entry needs (kept instead of whole Stats objects: many entries may wait). */
interface Meta {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  nlink: number;
  rdev: number;
}

interface Entry {
  abs: string;
  /** The name in the tar (directories end with `/`). */
  path: string;
  kind: Kind;
  st: Meta;
  /** A small file's contents, read ahead. */
  data?: Buffer;
}

/** The tar of `diffDir`; see the module comment. */
export async function* layerTar(diffDir: string, opts: LayerTarOptions = {}): AsyncGenerator<Buffer> {
  const root = resolve(diffDir);
  const rootStat = lstatSync(root);
  if (!rootStat.isDirectory()) throw new UserError(`layer source ${root} is not a directory`);
  const xattrsPending = readXattrsTree(root);
  let listed = false;
  // Also keeps a rejection from going unhandled if the walk throws first; the await below takes it.
  void xattrsPending.then(() => (listed = true), () => (listed = true));
  const entries = walk(root, '', meta(rootStat));
  const ahead: Entry[] = [];
  let budget = AHEAD_BYTES;
  let walked = false;
  // Useful work while getfattr runs in its own process: walk and read ahead,
  // letting the event loop take getfattr's output between slices.
  while (!listed && !walked && ahead.length < AHEAD_ENTRIES) {
    for (let i = 0; i < SLICE && !walked; i++) {
      const r = entries.next();
      if (r.done) {
        walked = true;
      } else {
        const e = r.value;
        if (e.kind === 'file' && e.st.size <= Math.min(budget, SMALL_FILE)) {
          e.data = readWhole(e.abs, e.st.size);
          budget -= e.st.size;
        }
        ahead.push(e);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const writer = new TarWriter(await xattrsPending, opts.sourceDateEpoch);
  writer.root(root, rootStat);
  const write = function* (e: Entry): Generator<Buffer> {
    writer.entry(e);
    yield* writer.take();
    while (writer.reading()) {
      writer.pump();
      yield* writer.take();
    }
  };
  for (const e of ahead) yield* write(e);
  ahead.length = 0;
  for (const e of entries) yield* write(e);
  writer.end();
  yield* writer.take();
}

/** Exactly `size` bytes of a file. */
function readWhole(abs: string, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  const fd = openSync(abs, 'r');
  try {
    for (let done = 0; done < size; ) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) throw new UserError(`${abs} shrank while it was being archived`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/**
 * Byte order of the UTF-8 names, which is JavaScript's string order unless a
 * name has a character above U+D7FF (surrogates sort apart there).
 */
function byNameBytes(a: { key: string }, b: { key: string }): number {
  if (HIGH.test(a.key) || HIGH.test(b.key)) return Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

const HIGH = /[\ud800-\uffff]/;

/**
 * The entries under the directory `abs` (whose own metadata is `dir`) in tar
 * order: its opaque marker first, then sorted by tar name, each directory
 * followed by its contents.
 */
function* walk(abs: string, rel: string, dir: Meta): Generator<Entry> {
  const children: (Entry & { key: string })[] = [];
  let opaque = false;
  for (const name of readdirSync(abs)) {
    const childAbs = abs === '/' ? `/${name}` : `${abs}/${name}`;
    const st = lstatSync(childAbs);
    if (st.isSocket()) continue;
    if (isWhiteoutDevice(st)) {
      const tarName = WHITEOUT_PREFIX + name;
      children.push({ abs: childAbs, path: rel + tarName, kind: 'whiteout', st: meta(st), key: tarName });
      continue;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      if (!isMarker(st) || (name !== OPAQUE_MARKER && deletedBy(name) === undefined)) {
        throw new UserError(`${childAbs}: file names starting with ${WHITEOUT_PREFIX} are reserved for whiteouts`);
      }
      if (name === OPAQUE_MARKER) opaque = true;
      else children.push({ abs: childAbs, path: rel + name, kind: 'whiteout', st: meta(st), key: name });
      continue;
    }
    children.push({ abs: childAbs, path: rel + name, kind: kindOf(st), st: meta(st), key: name });
  }
  children.sort(byNameBytes);
  if (opaque) yield { abs, path: rel + OPAQUE_MARKER, kind: 'opaque', st: dir };
  for (const c of children) {
    if (c.kind === 'dir') {
      c.path += '/';
      yield c;
      yield* walk(c.abs, c.path, c.st);
    } else {
      yield c;
    }
  }
}

function meta(st: Stats): Meta {
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, nlink: st.nlink, rdev: st.rdev };
}

function kindOf(st: Stats): Kind {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'file';
}

/** Linux `dev_t` split as glibc's `major()`/`minor()` do (in doubles: `dev_t` is 64-bit). */
function major(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) + ((Math.floor(rdev / 2 ** 32) & 0xfffff000) >>> 0);
}

function minor(rdev: number): number {
  return (rdev & 0xff) + ((Math.floor(rdev / 2 ** 12) & 0xffffff00) >>> 0);
}

/** The xattrs a layer carries: capabilities and user attributes, never overlay bookkeeping. */
function keptXattrs(all: Map<string, Buffer> | undefined): Map<string, Buffer> | undefined {
  if (!all) return undefined;
  let kept: Map<string, Buffer> | undefined;
  for (const [name, value] of all) {
    if (name === 'security.capability' || (name.startsWith('user.') && !name.startsWith('user.overlay.'))) {
      (kept ??= new Map()).set(name, value);
    }
  }
  return kept;
}

/** An open file whose contents are being copied into the chunks. */
interface Reading {
  fd: number;
  abs: string;
  size: number;
  done: number;
}

/**
 * Encodes entries into fixed-size chunks. Full chunks wait in `take()`; a
 * file's contents are copied one chunk per `pump()`, so a large file never
 * fills memory.
 */
class TarWriter {
  private buf = Buffer.allocUnsafe(CHUNK);
  private at = 0;
  private full: Buffer[] = [];
  private file: Reading | undefined;
  /** `dev:ino` → first tar path, for files that have more than one link. */
  private readonly links = new Map<string, string>();

  constructor(
    private readonly xattrs: XattrTree,
    private readonly epoch: number | undefined,
  ) {}

  /** The chunks filled so far. */
  take(): Buffer[] {
    const out = this.full;
    this.full = [];
    return out;
  }

  reading(): boolean {
    return this.file !== undefined;
  }

  root(abs: string, st: Meta): void {
    if (this.opaque(this.overlayChecked(abs))) this.marker(OPAQUE_MARKER, st);
  }

  entry(e: Entry): void {
    if (e.kind === 'whiteout') return this.marker(e.path, e.st);
    // once only, when the xattr made the directory opaque too
    if (e.kind === 'opaque') return this.opaque(this.xattrs.get(e.abs)) ? undefined : this.marker(e.path, e.st);
    const all = this.overlayChecked(e.abs);
    const xattrs = keptXattrs(all);
    const h: TarHeader = { path: e.path, type: 'file', mode: e.st.mode & 0o7777, uid: e.st.uid, gid: e.st.gid, size: 0, mtime: this.mtime(e.st) };
    if (xattrs) h.xattrs = xattrs;
    if (e.kind === 'dir') {
      h.type = 'directory';
      this.header(h);
      if (this.opaque(all)) this.marker(e.path + OPAQUE_MARKER, e.st);
      return;
    }
    if (e.st.nlink > 1 && this.linkToEarlier(e, h)) return this.header(h);
    if (e.kind === 'symlink') {
      h.type = 'symlink';
      h.linkname = readlinkSync(e.abs);
    } else if (e.kind === 'char' || e.kind === 'block') {
      h.type = e.kind;
      h.devmajor = major(e.st.rdev);
      h.devminor = minor(e.st.rdev);
    } else if (e.kind === 'fifo') {
      h.type = 'fifo';
    } else {
      h.size = e.st.size;
    }
    this.header(h);
    if (e.data) {
      this.bytes(e.data);
      this.pad(e.data.length);
    } else if (h.size > 0) {
      this.file = { fd: openSync(e.abs, 'r'), abs: e.abs, size: h.size, done: 0 };
      this.pump();
    }
  }

  /** Copies the current file's contents until one more chunk is full or the file is done. */
  pump(): void {
    const f = this.file;
    if (!f) return;
    try {
      const chunks = this.full.length;
      while (f.done < f.size && this.full.length === chunks) {
        const n = readSync(f.fd, this.buf, this.at, Math.min(f.size - f.done, CHUNK - this.at), f.done);
        if (n === 0) throw new UserError(`${f.abs} shrank while it was being archived`);
        f.done += n;
        this.advance(n);
      }
    } catch (e) {
      this.closeFile();
      throw e;
    }
    if (f.done < f.size) return;
    this.closeFile();
    this.pad(f.size);
  }

  /** Zeros after a body of `size` bytes, up to the next block. */
  private pad(size: number): void {
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    // Contents start block-aligned and CHUNK is whole blocks, so the padding always fits.
    this.buf.fill(0, this.at, this.at + pad);
    this.advance(pad);
  }

  /** The end-of-archive marker; the last, partial chunk is then ready. */
  end(): void {
    this.bytes(END_OF_ARCHIVE);
    if (this.at > 0) this.full.push(this.buf.subarray(0, this.at));
  }

  private closeFile(): void {
    if (this.file) closeSync(this.file.fd);
    this.file = undefined;
  }

  /** Whole seconds, clamped to SOURCE_DATE_EPOCH. */
  private mtime(st: Meta): number {
    const mtime = Math.floor(st.mtimeMs / 1000);
    return this.epoch !== undefined ? Math.min(mtime, this.epoch) : mtime;
  }

  /** A whiteout or opaque marker: an empty root-owned file with mode 0. */
  private marker(path: string, st: Meta): void {
    this.header({ path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: this.mtime(st) });
  }

  private overlayChecked(abs: string): Map<string, Buffer> | undefined {
    const all = this.xattrs.get(abs);
    for (const name of all?.keys() ?? []) {
      if (name === 'trusted.overlay.redirect' || name === 'trusted.overlay.metacopy') {
        throw new UserError(`${abs} has ${name}: mount the build overlay with redirect_dir=off,metacopy=off`);
      }
    }
    return all;
  }

  private opaque(xattrs: Map<string, Buffer> | undefined): boolean {
    return xattrs?.get(OPAQUE_XATTR)?.toString() === 'y';
  }

  /** A second path of a multiply linked inode becomes a hardlink entry (set in `h`). */
  private linkToEarlier(e: Entry, h: TarHeader): boolean {
    // Exact inode numbers: a number-typed ino can round above 2^53.
    const big = lstatSync(e.abs, { bigint: true });
    const key = `${big.dev}:${big.ino}`;
    const first = this.links.get(key);
    if (first === undefined) {
      this.links.set(key, e.path);
      return false;
    }
    h.type = 'link';
    h.linkname = first;
    return true;
  }

  /** Headers start block-aligned, and CHUNK is whole blocks, so a ustar block always fits. */
  private header(h: TarHeader): void {
    if (writeUstarHeader(h, this.buf, this.at)) this.advance(BLOCK);
    else this.bytes(encodeHeader(h));
  }

  private advance(n: number): void {
    this.at += n;
    if (this.at === CHUNK) {
      this.full.push(this.buf);
      this.buf = Buffer.allocUnsafe(CHUNK);
      this.at = 0;
    }
  }

  private bytes(b: Buffer): void {
    for (let from = 0; from < b.length; ) {
      const n = b.copy(this.buf, this.at, from);
      from += n;
      this.advance(n);
    }
  }
}

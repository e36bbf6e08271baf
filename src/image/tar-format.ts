/**
 * The tar format as OCI layers use it: POSIX ustar headers plus PAX extended
 * headers, encoded and decoded here by hand.
 *
 * Why not tar-stream: its PAX records are decoded as UTF-8 text, which
 * corrupts binary xattr values such as `security.capability`, and its packer
 * turns a mode of 0 into 0644. Layers need both byte-exact, so the codec lives
 * here; it is small.
 *
 * Encoding (`encodeHeader`, `padding`, `END_OF_ARCHIVE`) is deterministic:
 * empty uname/gname, whole-second mtimes, no atime/ctime, PAX records in a
 * fixed order, xattrs sorted by name.
 *
 * Decoding (`readTar`) streams: it yields one entry at a time with a body
 * iterable that reads straight from the source; bodies left unread are
 * skipped. Accepts ustar, GNU (`L`/`K` long names, base-256 numbers) and PAX
 * (`x` and `g`) archives; sparse and other exotic types are a UserError.
 */
import { UserError } from '../errors.ts';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface TarHeader {
  /** As stored: relative, directories with a trailing `/` (decoded names are returned as found). */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Body length; 0 for everything but regular files. */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  /** Symlink target or hardlink target path. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, recorded as PAX `SCHILY.xattr.<name>`. */
  xattrs?: ReadonlyMap<string, Buffer>;
}

export const BLOCK = 512;

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const XATTR_PREFIX = 'SCHILY.xattr.';
/** PAX and GNU long-name bodies are held in memory; a hostile archive must not make that unbounded. */
const MAX_META_BODY = 16 * 1024 * 1024;

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The header block(s) for one entry: a PAX extended header first when ustar cannot hold it. */
export function encodeHeader(h: TarHeader): Buffer {
  const split = splitUstarName(h.path);
  const records = paxRecords(h, split);
  const main = Buffer.alloc(BLOCK);
  writeUstar(h, split ?? { prefix: '', name: asciiFallback(h.path) }, TYPEFLAG[h.type], main, 0);
  if (records.length === 0) return main;
  const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  const paxHeader = Buffer.alloc(BLOCK);
  writeUstar(
    { path: 'PaxHeader', type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: clampMtime(h.mtime) },
    { prefix: '', name: 'PaxHeader' },
    'x',
    paxHeader,
    0,
  );
  return Buffer.concat([paxHeader, body, padding(body.length), main]);
}

/**
 * The fast path of `encodeHeader` for archive writers: writes the header into
 * `target` at `offset` (which must have a block free) and returns true when
 * it is a single ustar block; returns false, writing nothing, when it needs
 * PAX records.
 */
export function writeUstarHeader(h: TarHeader, target: Buffer, offset: number): boolean {
  // The same rules as paxRecords, checked without building anything.
  if (h.xattrs !== undefined && h.xattrs.size > 0) return false;
  if (h.size > MAX_OCTAL_11 || h.uid > MAX_OCTAL_7 || h.gid > MAX_OCTAL_7 || h.mtime < 0 || h.mtime > MAX_OCTAL_11) return false;
  if (h.linkname !== undefined && !(h.linkname.length <= 100 && isPlainAscii(h.linkname))) return false;
  const split = splitUstarName(h.path);
  if (!split) return false;
  writeUstar(h, split, TYPEFLAG[h.type], target, offset);
  return true;
}

/** What ustar fields cannot hold, as PAX records in a fixed order (writeUstarHeader checks the same rules). */
function paxRecords(h: TarHeader, split: { prefix: string; name: string } | undefined): [string, Buffer][] {
  const records: [string, Buffer][] = [];
  if (!split) records.push(['path', Buffer.from(h.path)]);
  if (h.linkname !== undefined && !(h.linkname.length <= 100 && isPlainAscii(h.linkname))) {
    records.push(['linkpath', Buffer.from(h.linkname)]);
  }
  if (h.size > MAX_OCTAL_11) records.push(['size', Buffer.from(String(h.size))]);
  if (h.uid > MAX_OCTAL_7) records.push(['uid', Buffer.from(String(h.uid))]);
  if (h.gid > MAX_OCTAL_7) records.push(['gid', Buffer.from(String(h.gid))]);
  if (h.mtime < 0 || h.mtime > MAX_OCTAL_11) records.push(['mtime', Buffer.from(String(h.mtime))]);
  if (h.xattrs) {
    for (const name of [...h.xattrs.keys()].sort()) {
      records.push([XATTR_PREFIX + name, h.xattrs.get(name) ?? Buffer.alloc(0)]);
    }
  }
  return records;
}

function clampMtime(mtime: number): number {
  return Math.min(Math.max(mtime, 0), MAX_OCTAL_11);
}

function isPlainAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

function asciiFallback(path: string): string {
  return path.replace(/[^\x20-\x7e]/g, '_').slice(-100);
}

/** ustar's name/prefix split, or undefined when the path needs a PAX record. */
function splitUstarName(path: string): { prefix: string; name: string } | undefined {
  if (path.length <= 100) return isPlainAscii(path) ? { prefix: '', name: path } : undefined;
  if (!isPlainAscii(path)) return undefined;
  for (let i = path.indexOf('/'); i >= 0 && i <= 155; i = path.indexOf('/', i + 1)) {
    const name = path.slice(i + 1);
    if (name.length > 0 && name.length <= 100) return { prefix: path.slice(0, i), name };
  }
  return undefined;
}

/** `"<len> key=value\n"` where len counts the whole record, itself included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3;
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

const USTAR_MAGIC = Buffer.from('ustar\u000000', 'latin1');

/** One ustar block at `b[o..o+512)`, checksum included. */
function writeUstar(h: TarHeader, name: { prefix: string; name: string }, typeflag: string, b: Buffer, o: number): void {
  b.fill(0, o, o + BLOCK);
  b.write(name.name, o, 100, 'latin1');
  writeOctal(b, o + 100, 8, h.mode & 0o7777);
  writeNumber(b, o + 108, 8, h.uid);
  writeNumber(b, o + 116, 8, h.gid);
  writeNumber(b, o + 124, 12, h.size);
  writeNumber(b, o + 136, 12, clampMtime(h.mtime));
  b[o + 156] = typeflag.charCodeAt(0);
  if (h.linkname !== undefined) b.write(asciiFallback(h.linkname).slice(0, 100), o + 157, 100, 'latin1');
  USTAR_MAGIC.copy(b, o + 257);
  writeOctal(b, o + 329, 8, h.devmajor ?? 0);
  writeOctal(b, o + 337, 8, h.devminor ?? 0);
  if (name.prefix) b.write(name.prefix, o + 345, 155, 'latin1');
  b.fill(0x20, o + 148, o + 156);
  let sum = 0;
  for (let i = o; i < o + BLOCK; i++) sum += b[i] as number;
  writeOctal(b, o + 148, 7, sum);
  b[o + 155] = 0x20;
}

/** `value` as width-1 zero-padded octal digits and a NUL. */
function writeOctal(b: Buffer, offset: number, width: number, value: number): void {
  let v = value;
  for (let i = offset + width - 2; i >= offset; i--) {
    b[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  b[offset + width - 1] = 0;
}

/** Octal when it fits, GNU base-256 otherwise (the PAX record carries the value too). */
function writeNumber(b: Buffer, offset: number, width: number, value: number): void {
  if (value < 8 ** (width - 1)) return writeOctal(b, offset, width, value);
  let v = BigInt(value);
  for (let i = offset + width - 1; i > offset; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[offset] = 0x80;
}

/** One decoded entry. `body` yields exactly `header.size` bytes; it need not be read. */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

/** Pulls exact byte counts out of a chunk stream without copying more than needed. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    if (r.value.length > 0) {
      this.chunks.push(r.value);
      this.buffered += r.value.length;
    }
    return true;
  }

  /** Exactly n bytes, or undefined at a clean end of stream (nothing buffered). */
  async exactly(n: number): Promise<Buffer | undefined> {
    while (this.buffered < n) {
      if (!(await this.pull())) {
        if (this.buffered === 0) return undefined;
        throw new UserError('tar archive is truncated');
      }
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }

  /** Between 1 and n bytes, as they arrive. */
  async upTo(n: number): Promise<Buffer> {
    while (this.buffered === 0) {
      if (!(await this.pull())) throw new UserError('tar archive is truncated');
    }
    const first = this.chunks[0] as Buffer;
    if (first.length <= n) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return first.subarray(0, n);
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.upTo(Math.min(left, 1 << 20))).length;
  }
}

/** Overrides that PAX and GNU headers carry for the entry that follows them. */
interface Pending {
  path?: string;
  linkname?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Map<string, Buffer>;
}

/**
 * Decodes a tar stream entry by entry. Stops at the first zero block; the
 * caller may keep reading `source` afterwards (e.g. to hash trailing bytes).
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source);
  let global: Pending = {};
  let pending: Pending = {};
  for (;;) {
    const block = await reader.exactly(BLOCK);
    if (block === undefined || block.every((byte) => byte === 0)) return;
    verifyChecksum(block);
    const flag = String.fromCharCode(block[156] ?? 0);
    const blockSize = readNumber(block, 124, 12);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const body = await readMetaBody(reader, blockSize);
      if (flag === 'x') pending = { ...pending, ...parsePax(body) };
      else if (flag === 'g') global = { ...global, ...parsePax(body) };
      else if (flag === 'L') pending.path = cString(body);
      else pending.linkname = cString(body);
      continue;
    }
    const header = decodeBlock(block, flag, { ...global, ...pending, size: pending.size ?? blockSize });
    pending = {};
    let remaining = header.size;
    const body = (async function* () {
      while (remaining > 0) {
        const chunk = await reader.upTo(Math.min(remaining, 1 << 20));
        remaining -= chunk.length;
        yield chunk;
      }
    })();
    yield { header, body };
    await reader.skip(remaining);
    await reader.skip(padding(header.size).length);
  }
}

async function readMetaBody(reader: ByteReader, size: number): Promise<Buffer> {
  if (size > MAX_META_BODY) throw new UserError(`tar extended header of ${size} bytes is too large`);
  const body = await reader.exactly(size + padding(size).length);
  if (body === undefined) throw new UserError('tar archive is truncated');
  return body.subarray(0, size);
}

function verifyChecksum(block: Buffer): void {
  let stored: number;
  try {
    stored = readNumber(block, 148, 8);
  } catch {
    stored = -1;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) {
    throw new UserError('invalid tar header checksum (the archive is corrupt or not a tar)');
  }
}

function decodeBlock(block: Buffer, flag: string, over: Pending & { size: number }): TarHeader {
  const type = entryType(flag);
  let path = over.path;
  if (path === undefined) {
    const name = cString(block.subarray(0, 100));
    const ustar = block.toString('latin1', 257, 263) === 'ustar\u0000';
    const prefix = ustar ? cString(block.subarray(345, 500)) : '';
    path = prefix ? `${prefix}/${name}` : name;
  }
  const linkname = over.linkname ?? cString(block.subarray(157, 257));
  const isOldDir = type === 'file' && path.endsWith('/');
  const header: TarHeader = {
    path,
    type: isOldDir ? 'directory' : type,
    mode: readNumber(block, 100, 8) & 0o7777,
    uid: over.uid ?? readNumber(block, 108, 8),
    gid: over.gid ?? readNumber(block, 116, 8),
    size: type === 'file' && !isOldDir ? over.size : 0,
    mtime: over.mtime ?? readNumber(block, 136, 12),
  };
  if (type === 'symlink' || type === 'link') header.linkname = linkname;
  if (type === 'char' || type === 'block') {
    header.devmajor = readNumber(block, 329, 8);
    header.devminor = readNumber(block, 337, 8);
  }
  if (over.xattrs && over.xattrs.size > 0) header.xattrs = over.xattrs;
  return header;
}

function entryType(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\u0000':
    case '7':
      return 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    default:
      throw new UserError(`unsupported tar entry type ${JSON.stringify(flag)}`);
  }
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

/** An octal field, or a GNU base-256 one when the high bit is set. */
function readNumber(block: Buffer, offset: number, width: number): number {
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new UserError('negative number in tar header');
    let v = BigInt(first & 0x7f);
    for (let i = offset + 1; i < offset + width; i++) v = (v << 8n) | BigInt(block[i] ?? 0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError('number in tar header is too large');
    return Number(v);
  }
  const raw = block.toString('latin1', offset, offset + width);
  const m = /^[ \u0000]*([0-7]*)(?:[ \u0000].*)?$/s.exec(raw);
  if (!m) throw new UserError(`invalid octal number ${JSON.stringify(raw)} in tar header`);
  return m[1] ? parseInt(m[1], 8) : 0;
}

function parsePax(body: Buffer): Pending {
  const out: Pending = {};
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const len = space < 0 ? NaN : Number(body.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= 0 || at + len > body.length || body[at + len - 1] !== 0x0a) {
      throw new UserError('malformed PAX extended header');
    }
    const record = body.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new UserError('malformed PAX extended header');
    applyPax(out, record.toString('utf8', 0, eq), record.subarray(eq + 1));
    at += len;
  }
  return out;
}

function applyPax(out: Pending, key: string, value: Buffer): void {
  const text = (): string => value.toString('utf8');
  const int = (): number => {
    const n = Math.floor(Number(text()));
    if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`invalid PAX ${key} ${JSON.stringify(text())}`);
    return n;
  };
  if (key === 'path') out.path = text();
  else if (key === 'linkpath') out.linkname = text();
  else if (key === 'size') out.size = int();
  else if (key === 'uid') out.uid = int();
  else if (key === 'gid') out.gid = int();
  else if (key === 'mtime') out.mtime = Math.floor(Number(text())) || 0;
  else if (key.startsWith(XATTR_PREFIX)) {
    out.xattrs ??= new Map();
    out.xattrs.set(key.slice(XATTR_PREFIX.length), Buffer.from(value));
  }
}

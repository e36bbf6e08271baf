/**
 * Unpacks a layer tar (plain, gzip or zstd, recognised by magic bytes) into a
 * directory, safely, and returns the diffId computed over the uncompressed
 * bytes.
 *
 * `applyLayer(source, targetDir, { whiteouts, expectDiffId, scope })`:
 *
 * - `whiteouts: 'overlay'` — `targetDir` is an empty dir that will be a
 *   diff dir (executor/diff-dirs.ts) holding exactly this layer. OCI
 *   whiteouts become overlay ones: `.wh.X` → a 0:0 char device `X`;
 *   `.wh..wh..opq` → the `trusted.overlay.opaque=y` xattr on its directory;
 *   where the file system refuses those, they stay marker files (mode 0,
 *   see whiteouts.ts).
 * - `whiteouts: 'extract'` — `targetDir` is an existing tree (e.g. for
 *   `ADD archive.tar /dest`, or flattening layers). `.wh.X` deletes `X` and an
 *   opaque marker empties its directory, except for what this same layer
 *   wrote (whiteouts only hide lower layers, whatever the tar order).
 *
 * In both modes an entry over an existing path replaces it, except a dir
 * over a dir, which only takes the new attributes. Ownership, mode
 * (including setuid), mtime, symlinks, hardlinks, device nodes, FIFOs and
 * `security.capability`/`user.*` xattrs are restored.
 *
 * Hostile archives are contained: leading `/` is stripped, `..` components
 * are a UserError, files are created with O_EXCL|O_NOFOLLOW, and hardlink
 * targets must be existing non-directories inside the target. A symlink
 * among an entry's parent components (planted by an earlier entry or already
 * in the tree) is, in overlay mode, a UserError; in extract mode it is
 * followed the way Docker does, as if chrooted at `scope` (default
 * `targetDir`): absolute targets start at `scope` and `..` stops there, so
 * `ADD rootfs.tar /` onto a merged-/usr tree (`lib -> usr/lib`) writes
 * `lib/x` to `usr/lib/x` and nothing ever lands outside `scope`.
 *
 * A diffId mismatch with `expectDiffId` is a UserError raised after the
 * whole stream was applied: the caller must discard `targetDir` then.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../errors.ts';
import { decompressed } from './decompress.ts';
import { makeNode, writeXattrs, type XattrWrite } from './fs-tools.ts';
import type { Digest } from './oci.ts';
import { readTar, type TarHeader } from './tar-format.ts';
import { deletedBy, markerPath, OPAQUE_MARKER, WHITEOUT_PREFIX, WhiteoutWriter } from './whiteouts.ts';

export interface ApplyLayerOptions {
  whiteouts: 'overlay' | 'extract';
  /**
   * Extract mode: the directory that parent symlinks resolve within, like a
   * chroot (e.g. the rootfs when `targetDir` is a directory inside it). It
   * must contain `targetDir`; default `targetDir` itself.
   */
  scope?: string;
  /** When given, the computed diffId must equal it. */
  expectDiffId?: Digest;
}

export async function applyLayer(
  source: NodeJS.ReadableStream,
  targetDir: string,
  opts: ApplyLayerOptions,
): Promise<{ diffId: Digest }> {
  const target = resolve(targetDir);
  const targetStat = await lstat(target).catch(() => undefined);
  if (!targetStat?.isDirectory()) throw new UserError(`cannot apply layer: ${target} is not a directory`);
  const scope = resolve(opts.whiteouts === 'extract' && opts.scope !== undefined ? opts.scope : target);
  const base = relative(scope, target);
  if (base.startsWith('..') || isAbsolute(base)) throw new Error(`layer scope ${scope} does not contain ${target}`);
  const hash = createHash('sha256');
  const plain = hashed(decompressed(source), hash);
  try {
    const applier = new Applier(scope, base === '' ? [] : base.split(sep), opts.whiteouts);
    for await (const { header, body } of readTar(plain)) {
      try {
        await applier.entry(header, body);
      } catch (e) {
        throw asUserError(e, header.path);
      }
    }
    await applier.finish();
    for await (const rest of plain) void rest;
  } finally {
    await plain.return(undefined);
  }
  const diffId: Digest = `sha256:${hash.digest('hex')}`;
  if (opts.expectDiffId !== undefined && opts.expectDiffId !== diffId) {
    throw new UserError(`layer diffId mismatch: expected ${opts.expectDiffId}, got ${diffId}`);
  }
  return { diffId };
}

async function* hashed(chunks: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

function asUserError(e: unknown, path: string): Error {
  if (e instanceof UserError) return e;
  const err = e as NodeJS.ErrnoException;
  if (typeof err.code === 'string') return new UserError(`cannot apply layer entry ${JSON.stringify(path)}: ${err.message}`);
  return e as Error;
}

/** Path components of an archive name, `/` prefixes neutralised; `..` is refused. */
function components(name: string): string[] {
  if (name.includes('\u0000')) throw new UserError(`layer entry ${JSON.stringify(name)} has a NUL byte in its name`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UserError(`layer entry ${JSON.stringify(name)} points outside the target directory`);
  return parts;
}

const MAX_LINKS = 40;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of body) void chunk;
}

/**
 * Applies entries one by one; state is per layer. All paths are relative to
 * `root` (the scope), and have no symlink components. File system calls are synchronous on purpose: layers are mostly
 * small files, each costing half a dozen calls, and a thread-pool round trip
 * per call made extraction several times slower; each call blocks for
 * microseconds, and the archive stream itself stays asynchronous.
 */
class Applier {
  /** Paths verified (or made) to be real directories, not symlinks. */
  private readonly dirs = new Set<string>(['']);
  /** Paths this layer wrote, plus their ancestors: whiteouts must not touch them. */
  private readonly written = new Set<string>(['']);
  /** Overlay mode: whiteouts (devices or markers) this layer made. */
  private readonly whiteoutsMade = new Set<string>();
  private readonly opaqueDirs = new Set<string>();
  private xattrs: (XattrWrite & { rel: string })[] = [];
  /** Directory mtimes, set last because writing children changes them. */
  private readonly dirTimes = new Map<string, number>();
  /** Overlay mode: writes whiteouts in the form the file system takes. */
  private readonly whiteouts: WhiteoutWriter | undefined;

  constructor(
    private readonly root: string,
    /** Where the archive's own root is, relative to `root`. */
    private readonly base: readonly string[],
    private readonly mode: 'overlay' | 'extract',
  ) {
    this.whiteouts = mode === 'overlay' ? new WhiteoutWriter(root) : undefined;
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  async entry(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const parts = components(h.path);
    const name = parts.at(-1);
    if (name === undefined) return drain(body);
    const parentRel = this.resolveDir([...this.base, ...parts.slice(0, -1)], h.path, true);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      await drain(body);
      return this.whiteout(parentRel, name, h.path);
    }
    const rel = parentRel === '' ? name : `${parentRel}/${name}`;
    const abs = this.abs(rel);
    const existing = lstatOrUndefined(abs);
    if (h.type === 'directory' && existing?.isDirectory()) {
      this.dirs.add(rel);
    } else if (h.type === 'link' && this.sameLink(h, rel)) {
      return;
    } else {
      const replacedWhiteout = this.whiteoutsMade.delete(rel);
      if (existing) this.remove(rel);
      if (replacedWhiteout) rmSync(markerPath(abs), { force: true });
      await this.create(h, rel, abs, body);
      if (h.type === 'directory' && replacedWhiteout) this.opaqueDirs.add(rel);
    }
    this.written.add(rel);
    if (h.type !== 'link') this.setAttributes(h, rel, abs);
  }

  private sameLink(h: TarHeader, rel: string): boolean {
    const target = components(h.linkname ?? '');
    const name = target.pop();
    if (name === undefined) return false;
    const dir = this.resolveDir([...this.base, ...target], h.path, false);
    return (dir === '' ? name : `${dir}/${name}`) === rel;
  }

  /**
   * The real directory `parts` names, relative to the root, each component
   * checked with lstat (and, with `create`, made when missing and recorded
   * as written by this layer). A symlink component is refused in overlay
   * mode and followed inside the root in extract mode.
   */
  private resolveDir(parts: readonly string[], entryName: string, create: boolean): string {
    const pending = [...parts];
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      const rel = done.length === 0 ? part : `${done.join('/')}/${part}`;
      if (!this.dirs.has(rel)) {
        const st = lstatOrUndefined(this.abs(rel));
        if (st?.isSymbolicLink()) {
          if (this.mode === 'overlay') throw new UserError(`layer entry ${JSON.stringify(entryName)} goes through the symlink ${rel}`);
          if (++links > MAX_LINKS) throw new UserError(`layer entry ${JSON.stringify(entryName)}: too many levels of symbolic links at ${rel}`);
          const target = readlinkSync(this.abs(rel));
          if (target.startsWith('/')) done.length = 0;
          pending.unshift(...target.split('/'));
          continue;
        }
        if (!st) {
          if (!create) throw new UserError(`layer entry ${JSON.stringify(entryName)}: ${rel} does not exist`);
          mkdirSync(this.abs(rel), { mode: 0o755 });
        } else if (!st.isDirectory()) {
          throw new UserError(`layer entry ${JSON.stringify(entryName)}: ${rel} is not a directory`);
        }
        this.dirs.add(rel);
      }
      if (create) this.written.add(rel);
      done.push(part);
    }
    return done.join('/');
  }

  /** Deletes a path and forgets everything known about it and below it. */
  private remove(rel: string): void {
    rmSync(this.abs(rel), { recursive: true, force: true });
    const below = rel + '/';
    for (const set of [this.dirs, this.written, this.whiteoutsMade, this.opaqueDirs]) {
      for (const p of set) if (p === rel || p.startsWith(below)) set.delete(p);
    }
    for (const p of this.dirTimes.keys()) if (p === rel || p.startsWith(below)) this.dirTimes.delete(p);
    this.xattrs = this.xattrs.filter((x) => x.rel !== rel && !x.rel.startsWith(below));
  }

  private async whiteout(parentRel: string, name: string, entryName: string): Promise<void> {
    if (name === OPAQUE_MARKER) return this.opaque(parentRel);
    const target = deletedBy(name);
    if (target === undefined) throw new UserError(`layer entry ${JSON.stringify(entryName)} is not a valid whiteout`);
    const rel = parentRel === '' ? target : `${parentRel}/${target}`;
    const existing = lstatOrUndefined(this.abs(rel));
    if (this.written.has(rel)) {
      if (existing?.isDirectory()) this.opaque(rel);
      return;
    }
    if (this.mode === 'extract') {
      if (existing) this.remove(rel);
      return;
    }
    if (existing) this.remove(rel);
    await this.whiteouts?.whiteout(this.abs(rel));
    this.whiteoutsMade.add(rel);
  }

  private opaque(relDir: string): void {
    if (this.mode === 'overlay') {
      this.opaqueDirs.add(relDir);
      return;
    }
    for (const child of readdirSync(this.abs(relDir))) {
      const rel = relDir === '' ? child : `${relDir}/${child}`;
      if (!this.written.has(rel)) this.remove(rel);
      else if (this.dirs.has(rel)) this.opaque(rel);
    }
  }

  private async create(h: TarHeader, rel: string, abs: string, body: AsyncIterable<Buffer>): Promise<void> {
    switch (h.type) {
      case 'directory':
        mkdirSync(abs, { mode: 0o700 });
        this.dirs.add(rel);
        return;
      case 'file': {
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) {
            for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
          }
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'symlink':
        symlinkSync(h.linkname ?? '', abs);
        return;
      case 'link':
        return this.hardlink(h, abs);
      case 'char':
      case 'block':
        return makeNode(abs, h.type, h.devmajor ?? 0, h.devminor ?? 0);
      case 'fifo':
        return makeNode(abs, 'fifo');
    }
  }

  private hardlink(h: TarHeader, abs: string): void {
    const target = components(h.linkname ?? '');
    const name = target.pop();
    if (name === undefined) throw new UserError(`hardlink ${JSON.stringify(h.path)} has no target`);
    const dir = this.resolveDir([...this.base, ...target], h.path, false);
    const targetAbs = this.abs(dir === '' ? name : `${dir}/${name}`);
    const st = lstatOrUndefined(targetAbs);
    if (!st) throw new UserError(`hardlink ${JSON.stringify(h.path)} points to missing ${JSON.stringify(h.linkname)}`);
    if (st.isDirectory()) throw new UserError(`hardlink ${JSON.stringify(h.path)} points to a directory`);
    linkSync(targetAbs, abs);
  }

  private setAttributes(h: TarHeader, rel: string, abs: string): void {
    // chown first: it clears setuid/setgid bits and file capabilities.
    lchownSync(abs, h.uid, h.gid);
    if (h.type !== 'symlink') chmodSync(abs, h.mode);
    if (h.type === 'directory') this.dirTimes.set(rel, h.mtime);
    else lutimesSync(abs, h.mtime, h.mtime);
    for (const [name, value] of h.xattrs ?? []) {
      if (name === 'security.capability' || (name.startsWith('user.') && !name.startsWith('user.overlay.'))) {
        this.xattrs.push({ rel, path: abs, name, value });
      }
    }
  }

  /** The deferred work: xattrs (after every chown) and directory mtimes (after every child). */
  async finish(): Promise<void> {
    await writeXattrs(this.xattrs);
    await this.whiteouts?.opaque([...this.opaqueDirs].map((rel) => this.abs(rel)));
    for (const [rel, mtime] of this.dirTimes) lutimesSync(this.abs(rel), mtime, mtime);
  }
}

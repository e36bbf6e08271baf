import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  createReadStream,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { chmod as chmodPath, lchown, lstat, mkdir, open } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import type { SelectedPath } from '../context/select.ts';
import { deviceMajor, deviceMinor } from '../context/tree.ts';
import { UserError, type SourceLocation } from '../errors.ts';
import { applyLayer } from '../image/layer-apply.ts';
import type { ModeChange } from './chmod.ts';
import type { CopyReuse } from './copy-reuse.ts';
import { resolveScoped } from './scoped-path.ts';


export interface CopyRequest {
  /** The directory sources are relative to: the build context, another stage's rootfs, or inline files. */
  srcRoot: string;
  selection: readonly SelectedPath[];
  /** The step's writable rootfs. */
  rootfs: string;
  /**
   * The overlay upper dir under `rootfs`, when the snapshot allows writing
   * into it directly (see ActiveSnapshot.directUpper): the contents of a
   * directory source are then written there rather than through the mount.
   */
  upper?: string;
  /** Absolute path in the image; a trailing `/` means "into this directory". */
  dest: string;
  /** `--chown`, or root for context sources; undefined keeps the source's owners (`--from` a stage or image). */
  owner?: { uid: number; gid: number };
  /** Owner of the missing parent directories the copy creates; default `owner` (root when that is unset). */
  parentsOwner?: { uid: number; gid: number };
  /** `--chmod`, applied to every copied file and directory. */
  chmod?: ModeChange;
  /** ADD: local tar archives are extracted into the destination instead of copied. */
  extractArchives: boolean;
  /** The previous run of this COPY, whose unchanged files are hard-linked instead of copied (see copy-reuse.ts). */
  reuse?: Pick<CopyReuse, 'link' | 'copied'>;
  where: SourceLocation;
}

/**
 * COPY/ADD into a rootfs with Docker's rules: a directory source copies its
 * contents (only the entries the selection lists, when it lists them: what
 * `.dockerignore` leaves in the context); several sources need a directory
 * destination ending in `/`; a file goes into an existing directory or a
 * trailing-slash destination, and otherwise becomes the destination path;
 * missing parents are created. Copied entries keep their mode and mtime and
 * take the requested owner; files hard-linked together stay linked. Paths
 * inside the rootfs are resolved without ever leaving it.
 */
export async function copyIntoRootfs(request: CopyRequest): Promise<void> {
  const req: CopyState = { ...request, links: new Map(), made: new Set() };
  const intoDir = req.dest.endsWith('/');
  if (req.selection.length > 1 && !intoDir) {
    throw new UserError('when using COPY with more than one source file, the destination must be a directory and end with a /', req.where);
  }
  for (const sel of req.selection) {
    // an earlier source may have filled the directories this one copies into
    req.made.clear();
    const src = posix.join(req.srcRoot, sel.rel);
    if (sel.isDir) {
      const destDir = await bulkTarget(req, await ensureDir(req, req.dest));
      if (sel.entries) copyListed(src, sel.entries, destDir, req);
      else copyTree(src, destDir, req);
    } else if (req.extractArchives && (await isArchive(src))) {
      await applyLayer(createReadStream(src), await ensureDir(req, req.dest), { whiteouts: 'extract', scope: req.rootfs });
    } else {
      const destHost = await resolveScoped(req.rootfs, req.dest);
      const existingDir = await lstat(destHost).then((s) => s.isDirectory(), () => false);
      const target = intoDir || existingDir ? posix.join(await ensureDir(req, req.dest), sel.name ?? basename(sel.rel)) : destHost;
      if (!(intoDir || existingDir)) await ensureDir(req, posix.dirname(req.dest));
      copyEntry(src, target, req, false);
    }
  }
}

/**
 * A copy in progress: the request, plus the files copied so far by inode
 * (so that hard links stay links), and the directories the current source
 * has created (nothing can be in their way: no lstat of each entry first).
 */
interface CopyState extends CopyRequest {
  links: Map<string, string>;
  made: Set<string>;
}

/**
 * Where a directory source's contents go: `destDir` (a host path in the
 * merged rootfs), or its twin in the upper dir when one is given. Through
 * overlayfs every create, chown, chmod and utimes costs several times what
 * it costs on the upper dir's own file system (a 20,000-file COPY: 4.3 s
 * against about 1 s). Writing there directly is sound because the merged
 * view of that subtree is not looked at again while the overlay is mounted
 * (files are copied through the mount otherwise), and because it gives the
 * same result: an entry in the upper dir hides whatever lower entry has its
 * name, and a directory there merges with a lower one of the same name, as
 * a COPY onto an existing directory does. `destDir` itself is copied up
 * first (a chown to its own owner does it), with its parents, so that the
 * upper dir holds it with the metadata the lower layers gave it.
 */
async function bulkTarget(req: CopyState, destDir: string): Promise<string> {
  if (req.upper === undefined) return destDir;
  const st = await lstat(destDir);
  await lchown(destDir, st.uid, st.gid);
  return posix.join(req.upper, posix.relative(req.rootfs, destDir));
}

/** Creates `path` (and missing parents, owned like the copied files) inside the rootfs; returns its host path. */
async function ensureDir(req: CopyState, path: string): Promise<string> {
  let current = '/';
  for (const part of posix.normalize(path).split('/').filter(Boolean)) {
    current = posix.join(current, part);
    const host = await resolveScoped(req.rootfs, current);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new UserError(`cannot copy to ${path}: ${current} exists and is not a directory`, req.where);
    await mkdir(host, { mode: 0o755 });
    await chmodPath(host, 0o755);
    const parent = req.parentsOwner ?? req.owner;
    await lchown(host, parent?.uid ?? 0, parent?.gid ?? 0);
  }
  return resolveScoped(req.rootfs, path);
}

// The per-entry work below is synchronous on purpose: a COPY of a large
// tree is tens of thousands of small syscalls, and each one through the
// async thread pool costs ~10x its own time (a 20,000-file COPY took 39 s).

function copyTree(srcDir: string, destDir: string, req: CopyState): void {
  for (const name of readdirSync(srcDir).sort()) copyEntry(posix.join(srcDir, name), posix.join(destDir, name), req, true);
}

/** Copies exactly the listed entries of a directory (each directory is listed before its content). */
function copyListed(srcDir: string, entries: readonly string[], destDir: string, req: CopyState): void {
  const dirs: [Stats, string][] = [];
  for (const rel of entries) {
    const dir = copyEntry(posix.join(srcDir, rel), posix.join(destDir, rel), req, false);
    if (dir) dirs.push([dir, posix.join(destDir, rel)]);
  }
  // directory times last: copying into a directory changes its mtime
  for (const [st, dest] of dirs.reverse()) utimesSync(dest, st.atime, st.mtime);
}

/**
 * Copies one entry (a whole tree below it when `recurse`); returns its stat
 * when it is a directory. An existing non-directory at the destination is
 * replaced.
 */
function copyEntry(src: string, dest: string, req: CopyState, recurse: boolean): Stats | undefined {
  const st = lstatSync(src);
  const existing = req.made.has(posix.dirname(dest)) ? undefined : lstatSync(dest, { throwIfNoEntry: false });
  if (existing && !(existing.isDirectory() && st.isDirectory())) rmSync(dest, { recursive: true, force: true });
  const mode = req.chmod ? req.chmod(st.mode & 0o7777, st.isDirectory()) : st.mode & 0o7777;
  const uid = req.owner?.uid ?? st.uid;
  const gid = req.owner?.gid ?? st.gid;
  if (st.isDirectory()) {
    if (!existing?.isDirectory()) {
      mkdirSync(dest);
      req.made.add(dest);
    }
    if (recurse) copyTree(src, dest, req);
    lchownSync(dest, uid, gid);
    chmodSync(dest, mode);
    utimesSync(dest, st.atime, st.mtime);
    return st;
  }
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dest);
    lchownSync(dest, uid, gid);
    lutimesSync(dest, st.atime, st.mtime);
    return undefined;
  }
  const inode = `${st.dev}:${st.ino}`;
  const first = st.nlink > 1 ? req.links.get(inode) : undefined;
  if (first !== undefined) {
    linkSync(first, dest);
    return undefined;
  }
  // a file with other names stays linked to them (above), not to an earlier run's copy
  if (st.isFile() && st.nlink === 1 && req.reuse?.link(src, dest)) return undefined;
  if (st.isFile() && st.size < BIG_FILE) copySmallFile(src, dest, st, { uid, gid, mode });
  else {
    if (st.isFile()) copyFileSync(src, dest);
    // a socket arrives as an empty file, as BuildKit sends it
    else if (st.isSocket()) writeFileSync(dest, '');
    else makeNode(dest, st);
    lchownSync(dest, uid, gid);
    chmodSync(dest, mode);
    utimesSync(dest, st.atime, st.mtime);
  }
  if (st.nlink > 1) req.links.set(inode, dest);
  else if (st.isFile()) req.reuse?.copied(src, dest);
  return undefined;
}

/** Files at least this big are copied in the kernel (copy_file_range); smaller ones through a buffer. */
const BIG_FILE = 1 << 20;
const buffer = Buffer.allocUnsafe(BIG_FILE);

/**
 * A small regular file copied by descriptor: created exclusively (never
 * through a link someone put there), filled through a buffer, its owner,
 * mode and times set on the descriptor. For the thousands of small files of
 * a `COPY . .` this is twice as fast as copyFileSync (whose copy_file_range
 * and extra fstat/ftruncate cost more than the data) followed by chown,
 * chmod and utimes by path.
 */
function copySmallFile(src: string, dest: string, st: Stats, attrs: { uid: number; gid: number; mode: number }): void {
  const input = openSync(src, 'r');
  try {
    const output = openSync(dest, 'wx', 0o600);
    try {
      for (let n = readSync(input, buffer, 0, BIG_FILE, null); n > 0; n = readSync(input, buffer, 0, BIG_FILE, null)) {
        for (let at = 0; at < n; ) at += writeSync(output, buffer, at, n - at);
      }
      // owner before mode: a chown clears setuid and setgid bits
      fchownSync(output, attrs.uid, attrs.gid);
      fchmodSync(output, attrs.mode);
      futimesSync(output, st.atime, st.mtime);
    } finally {
      closeSync(output);
    }
  } finally {
    closeSync(input);
  }
}

/** A fifo or device node like `st` (node has no mknod(2); coreutils' mknod does it). */
function makeNode(dest: string, st: Stats): void {
  const rdev = BigInt(st.rdev);
  const dev = st.isFIFO() ? [] : [String(deviceMajor(rdev)), String(deviceMinor(rdev))];
  execFileSync('mknod', [dest, st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : 'b', ...dev]);
}

/** gzip, bzip2 or xz magic, or a tar `ustar` header: what ADD extracts. */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b[0] === 0x1f && b[1] === 0x8b) return true;
    if (b.subarray(0, 3).toString('latin1') === 'BZh') return true;
    if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return bytesRead >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}

import { open } from 'node:fs/promises';
import { copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, chmod as chmodPath, utimes } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename, posix } from 'node:path';
import { UserError, type SourceLocation } from '../errors.ts';
import type { SelectedPath } from '../context/select.ts';
import { applyLayer } from '../image/layer-apply.ts';
import { resolveScoped } from './scoped-path.ts';

export interface CopyRequest {
  /** The directory sources are relative to: the build context, or another stage's rootfs. */
  srcRoot: string;
  selection: readonly SelectedPath[];
  /** The step's writable rootfs. */
  rootfs: string;
  /** Absolute path in the image; a trailing `/` means "into this directory". */
  dest: string;
  owner: { uid: number; gid: number };
  /** Octal mode applied to every copied file and directory. */
  mode?: number;
  /** ADD: local tar archives are extracted into the destination instead of copied. */
  extractArchives: boolean;
  where: SourceLocation;
}

/**
 * COPY/ADD into a rootfs with Docker's rules: a directory source copies its
 * contents; several sources need a directory destination ending in `/`; a
 * file goes into an existing directory or a trailing-slash destination, and
 * otherwise becomes the destination path; missing parents are created. Copied
 * entries keep their mode and mtime and take the requested owner (root by
 * default). Paths inside the rootfs are resolved without ever leaving it.
 */
export async function copyIntoRootfs(req: CopyRequest): Promise<void> {
  const intoDir = req.dest.endsWith('/');
  if (req.selection.length > 1 && !intoDir) {
    throw new UserError('when using COPY with more than one source file, the destination must be a directory and end with a /', req.where);
  }
  for (const sel of req.selection) {
    const src = posix.join(req.srcRoot, sel.rel);
    if (sel.isDir) {
      await copyTree(src, await ensureDir(req, req.dest), req);
    } else if (req.extractArchives && (await isArchive(src))) {
      await applyLayer(createReadStream(src), await ensureDir(req, req.dest), { whiteouts: 'extract' });
    } else {
      const destHost = await resolveScoped(req.rootfs, req.dest);
      const existingDir = await lstat(destHost).then((s) => s.isDirectory(), () => false);
      const target = intoDir || existingDir ? posix.join(await ensureDir(req, req.dest), basename(sel.rel)) : destHost;
      if (!(intoDir || existingDir)) await ensureDir(req, posix.dirname(req.dest));
      await copyEntry(src, target, req);
    }
  }
}

/** Creates `path` (and missing parents, owned like the copied files) inside the rootfs; returns its host path. */
async function ensureDir(req: CopyRequest, path: string): Promise<string> {
  const parts = posix.normalize(path).split('/').filter(Boolean);
  let current = '/';
  for (const part of parts) {
    current = posix.join(current, part);
    const host = await resolveScoped(req.rootfs, current);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new UserError(`cannot copy to ${path}: ${current} exists and is not a directory`, req.where);
    await mkdir(host, { mode: 0o755 });
    await chmodPath(host, 0o755);
    await lchown(host, req.owner.uid, req.owner.gid);
  }
  return resolveScoped(req.rootfs, path);
}

async function copyTree(srcDir: string, destDir: string, req: CopyRequest): Promise<void> {
  for (const name of (await readdir(srcDir)).sort()) {
    await copyEntry(posix.join(srcDir, name), posix.join(destDir, name), req);
  }
}

async function copyEntry(src: string, dest: string, req: CopyRequest): Promise<void> {
  const st = await lstat(src);
  const existing = await lstat(dest).catch(() => undefined);
  if (existing && !(existing.isDirectory() && st.isDirectory())) await rm(dest, { recursive: true, force: true });
  const mode = req.mode ?? st.mode & 0o7777;
  if (st.isDirectory()) {
    if (!existing?.isDirectory()) await mkdir(dest);
    await copyTree(src, dest, req);
    await lchown(dest, req.owner.uid, req.owner.gid);
    await chmodPath(dest, mode);
    await utimes(dest, st.atime, st.mtime);
  } else if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dest);
    await lchown(dest, req.owner.uid, req.owner.gid);
    await lutimes(dest, st.atime, st.mtime);
  } else if (st.isFile()) {
    await copyFile(src, dest);
    await lchown(dest, req.owner.uid, req.owner.gid);
    await chmodPath(dest, mode);
    await utimes(dest, st.atime, st.mtime);
  }
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

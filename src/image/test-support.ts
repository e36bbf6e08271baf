/**
 * Shared by the image tests (not used by tsbuild itself): shell helpers, real
 * overlay mounts with guaranteed cleanup, a tree snapshot for comparing
 * directories attribute by attribute, and a tar's entry names.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readTar } from './tar-format.ts';

/** Runs a shell command, returning stdout; throws with stderr on failure. */
export function sh(script: string): string {
  return execFileSync('sh', ['-ec', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Installs a Debian package when the command it provides is missing. */
export function ensureTool(command: string, pkg: string): void {
  try {
    sh(`command -v ${command}`);
  } catch {
    sh(`apt-get install -y ${pkg} >/dev/null 2>&1`);
  }
}

/** Tracks overlay mounts so `after` hooks can always undo them. */
export class Mounts {
  private readonly active: string[] = [];

  overlay(lowers: string[], merged: string, rw?: { upper: string; work: string }): void {
    const opts = [`lowerdir=${lowers.join(':')}`];
    if (rw) opts.push(`upperdir=${rw.upper}`, `workdir=${rw.work}`);
    sh(`mount -t overlay overlay -o ${opts.join(',')} '${merged}'`);
    this.active.push(merged);
  }

  unmount(merged: string): void {
    sh(`umount '${merged}'`);
    this.active.splice(this.active.indexOf(merged), 1);
  }

  cleanup(): void {
    for (const m of this.active.splice(0).reverse()) {
      try {
        sh(`umount '${m}' || umount -l '${m}'`);
      } catch {
        // Best effort: the tmp dir removal that follows reports what is left.
      }
    }
  }
}

export interface NodeInfo {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  mtime?: number;
  content?: string;
  link?: string;
  rdev?: number;
  xattrs?: string;
  /** Index of the first path sharing this inode, for hardlinks. */
  linkGroup?: string;
}

/** Every node under `root` (root itself excluded) with the attributes a layer preserves. */
export function snapshotTree(root: string, opts: { dirTimes?: boolean } = {}): Record<string, NodeInfo> {
  const out: Record<string, NodeInfo> = {};
  const inodes = new Map<number, string>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const path = rel + name;
      const st = lstatSync(abs);
      const info: NodeInfo = {
        type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'other',
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
      };
      if (!st.isDirectory() || opts.dirTimes) info.mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isFile()) info.content = createHash('sha256').update(readFileSync(abs)).digest('hex');
      if (st.isSymbolicLink()) info.link = readlinkSync(abs);
      if (st.isCharacterDevice()) info.rdev = st.rdev;
      if (st.nlink > 1 && !st.isDirectory()) {
        info.linkGroup = inodes.get(st.ino) ?? path;
        inodes.set(st.ino, info.linkGroup);
      }
      const x = sh(`getfattr -h -d -m - -e hex '${abs}' 2>/dev/null | grep -v '^#' | grep -v '^$' | sort || true`).trim();
      if (x) info.xattrs = x;
      out[path] = info;
      if (st.isDirectory()) walk(abs, path + '/');
    }
  };
  walk(root, '');
  return out;
}

/** A valid VFS_CAP_REVISION_2 `security.capability` value granting cap_net_bind_service. */
export const NET_BIND_CAP_HEX = '0x0100000200040000000000000000000000000000';

/** The entry names of a tar, in order (bodies read and dropped). */
export async function tarEntryNames(tar: Buffer): Promise<string[]> {
  const names: string[] = [];
  for await (const { header, body } of readTar(Readable.from([tar]))) {
    names.push(header.path);
    for await (const chunk of body) void chunk;
  }
  return names;
}

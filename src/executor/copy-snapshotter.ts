import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  type Stats,
} from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readXattrsTree } from '../image/fs-tools.ts';
import { deletedBy, isMarker, isWhiteoutDevice, OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX, WhiteoutWriter } from '../image/whiteouts.ts';
import type { DiffDirs, Lower } from './diff-dirs.ts';
import type { ActiveSnapshot, PrepareOptions, Snapshotter, ViewSnapshot } from './snapshotter.ts';

/** What a path looked like before the step: enough to tell whether the step touched it. */
interface Seen {
  ino: number;
  ctimeMs: number;
  isDir: boolean;
}

/**
 * Snapshots without overlayfs, for file systems that cannot mount it (say,
 * inside another overlay without the kernel support): a step's rootfs is a
 * full copy of its layers, and its diff dir is computed afterwards by
 * comparing the tree with what it was before — in the same overlay format
 * (0:0 char devices for deletions, opaque dirs by xattr) the overlay
 * snapshotter leaves, so both share `snapshots/`, or in the marker form
 * where the file system refuses that (image/whiteouts.ts; on a root on
 * overlayfs, the commonest reason to use copies). Slower: every step copies
 * its whole rootfs.
 */
export class CopySnapshotter implements Snapshotter {
  constructor(
    private readonly diffs: DiffDirs,
    private readonly scratch: () => Promise<string>,
  ) {}

  async prepare(lowers: readonly Lower[], opts: PrepareOptions = {}): Promise<ActiveSnapshot> {
    const dir = await this.scratch();
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await this.materialise(lowers, rootfs);
    if (opts.forContainer) await applyDiff(join(this.diffs.links, await this.diffs.runtimeStubs()), rootfs);
    for (const stub of opts.stubs ?? []) {
      const path = join(rootfs, stub.path);
      if (lstatSync(path, { throwIfNoEntry: false })) continue;
      mkdirSync(stub.dir ? path : dirname(path), { recursive: true });
      if (!stub.dir) copyFileSync('/dev/null', path);
    }
    const before = scan(rootfs);
    const upper = await this.diffs.create();
    let diffed = false;
    let released = false;
    const unmount = async (): Promise<void> => {
      if (diffed) return;
      diffed = true;
      await writeDiff(rootfs, before, upper.path);
    };
    return {
      rootfs,
      id: upper.id,
      upper: upper.path,
      unmount,
      release: async (keep) => {
        if (released) return;
        released = true;
        await rm(dir, { recursive: true, force: true });
        if (!keep) await this.diffs.remove(upper.id);
      },
    };
  }

  async view(lowers: readonly Lower[]): Promise<ViewSnapshot> {
    const dir = await this.scratch();
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await this.materialise(lowers, rootfs);
    return { rootfs, remove: () => rm(dir, { recursive: true, force: true }) };
  }

  /** Applies each lower's diff dir, base first, onto an empty dir. */
  private async materialise(lowers: readonly Lower[], rootfs: string): Promise<void> {
    for (const name of await this.diffs.resolve(lowers)) await applyDiff(join(this.diffs.links, name), rootfs);
  }
}

/** Applies a diff dir (either form of whiteouts) onto a tree, as overlayfs would show it stacked. */
async function applyDiff(link: string, target: string): Promise<void> {
  // getfattr does not follow the `l/` symlink it is given
  const diff = realpathSync(link);
  const xattrs = await readXattrsTree(diff);
  const opaque = (path: string): boolean => {
    if (xattrs.get(path)?.get(OPAQUE_XATTR)?.toString() === 'y') return true;
    const marker = lstatSync(join(path, OPAQUE_MARKER), { throwIfNoEntry: false });
    return marker !== undefined && isMarker(marker);
  };
  const walk = (from: string, to: string): void => {
    for (const name of readdirSync(from)) {
      const src = join(from, name);
      const st = lstatSync(src);
      if (name.startsWith(WHITEOUT_PREFIX) && isMarker(st)) {
        // an opaque marker is read with its directory, by opaque()
        if (name === OPAQUE_MARKER) continue;
        const deleted = deletedBy(name);
        if (deleted !== undefined) {
          rmSync(join(to, deleted), { recursive: true, force: true });
          continue;
        }
      }
      const dest = join(to, name);
      const existing = lstatSync(dest, { throwIfNoEntry: false });
      if (isWhiteoutDevice(st)) {
        if (existing) rmSync(dest, { recursive: true, force: true });
        continue;
      }
      if (existing && (!existing.isDirectory() || !st.isDirectory() || opaque(src))) rmSync(dest, { recursive: true, force: true });
      copyOne(src, dest, st);
      if (st.isDirectory()) walk(src, dest);
    }
  };
  walk(diff, target);
}

/** Copies one entry's own data and attributes (not a directory's content). */
function copyOne(src: string, dest: string, st: Stats): void {
  if (st.isDirectory()) {
    if (!lstatSync(dest, { throwIfNoEntry: false })) mkdirSync(dest);
  } else if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dest);
  else if (st.isFile()) copyFileSync(src, dest);
  else execFileSync('cp', ['-a', '--', src, dest]);
  lchownSync(dest, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(dest, st.mode & 0o7777);
  lutimesSync(dest, st.atime, st.mtime);
}

function scan(root: string): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, path));
      seen.set(path, { ino: st.ino, ctimeMs: st.ctimeMs, isDir: st.isDirectory() });
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return seen;
}

/**
 * Writes into `upper` what changed in `root` since `before`: new and changed
 * entries (with their parents), deleted ones as whiteouts, and directories
 * replaced by new ones (another inode) as opaque. What a replaced entry had
 * below it needs no whiteouts: the new entry hides it all.
 */
async function writeDiff(root: string, before: Map<string, Seen>, upper: string): Promise<void> {
  const whiteouts = new WhiteoutWriter(upper);
  const opaqueDirs: string[] = [];
  const present = new Set<string>();
  /** Entries replaced by new ones (the topmost of each new subtree). */
  const replacedPaths = new Set<string>();
  const ensureParents = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const dest = join(upper, rel);
      if (!lstatSync(dest, { throwIfNoEntry: false })) copyOne(join(root, rel), dest, lstatSync(join(root, rel)));
    }
  };
  const walk = (rel: string, wholeTree: boolean): void => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel === '' ? name : `${rel}/${name}`;
      present.add(path);
      const st = lstatSync(join(root, path));
      const old = before.get(path);
      const replaced = !wholeTree && old !== undefined && (old.ino !== st.ino || old.isDir !== st.isDirectory());
      const changed = wholeTree || old === undefined || replaced || old.ctimeMs !== st.ctimeMs;
      if (replaced) replacedPaths.add(path);
      if (changed) {
        ensureParents(path);
        const dest = join(upper, path);
        if (!lstatSync(dest, { throwIfNoEntry: false })) copyOne(join(root, path), dest, st);
        if (st.isDirectory() && replaced && old?.isDir) opaqueDirs.push(dest);
      }
      if (st.isDirectory()) walk(path, wholeTree || (replaced && old?.isDir === true));
    }
  };
  walk('', false);
  const hidden = (path: string): boolean => {
    for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
      const ancestor = path.slice(0, slash);
      if (replacedPaths.has(ancestor) || !present.has(ancestor)) return true;
    }
    return false;
  };
  for (const path of before.keys()) {
    if (present.has(path) || hidden(path)) continue;
    ensureParents(path);
    await whiteouts.whiteout(join(upper, path));
  }
  await whiteouts.opaque(opaqueDirs);
}

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
  rmSync,
  symlinkSync,
  type Stats,
} from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeNode, readXattrsTree, writeXattrs } from '../image/fs-tools.ts';
import type { DiffDirs, Lower } from './diff-dirs.ts';
import type { ActiveSnapshot, PrepareOptions, Snapshotter, ViewSnapshot } from './snapshotter.ts';

const OPAQUE = 'trusted.overlay.opaque';

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
 * snapshotter leaves, so both share `snapshots/`. Slower: every step copies
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

/** Applies an overlay-format diff dir onto a tree, as overlayfs would show it stacked. */
async function applyDiff(diff: string, target: string): Promise<void> {
  const xattrs = await readXattrsTree(diff);
  const opaque = (path: string): boolean => xattrs.get(path)?.get(OPAQUE)?.toString() === 'y';
  const walk = (from: string, to: string): void => {
    for (const name of readdirSync(from)) {
      const src = join(from, name);
      const dest = join(to, name);
      const st = lstatSync(src);
      const existing = lstatSync(dest, { throwIfNoEntry: false });
      if (st.isCharacterDevice() && st.rdev === 0) {
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
 * entries (with their parents), deleted ones as 0:0 char devices, and
 * directories replaced by new ones (another inode) as opaque.
 */
async function writeDiff(root: string, before: Map<string, Seen>, upper: string): Promise<void> {
  const opaqueDirs: string[] = [];
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
      const st = lstatSync(join(root, path));
      const old = before.get(path);
      const replaced = old !== undefined && (old.ino !== st.ino || old.isDir !== st.isDirectory());
      const changed = wholeTree || old === undefined || replaced || old.ctimeMs !== st.ctimeMs;
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
  const deleted = new Set([...before.keys()].filter((p) => !lstatSync(join(root, p), { throwIfNoEntry: false })));
  for (const path of deleted) {
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    if (parent !== '' && deleted.has(parent)) continue;
    ensureParents(path);
    await makeNode(join(upper, path), 'char', 0, 0);
  }
  await writeXattrs(opaqueDirs.map((path) => ({ path, name: OPAQUE, value: Buffer.from('y') })));
}

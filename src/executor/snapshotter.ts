import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DiffDirs, Lower } from './diff-dirs.ts';
import { mountOverlay, unmount } from './overlay.ts';

/** A writable rootfs over some layers; what is written through it lands in a new diff dir. */
export interface ActiveSnapshot {
  /** The merged view, to run a container in or copy files into. */
  rootfs: string;
  /** Id of the new diff dir: after `unmount`, exactly this step's changes in overlay form. */
  id: string;
  /** The new diff dir's path. */
  upper: string;
  /** Ends writing; afterwards the diff dir is complete. Idempotent. */
  unmount(): Promise<void>;
  /** Unmounts and frees the scratch space; the diff dir is deleted too unless `keep`. Idempotent. */
  release(keep: boolean): Promise<void>;
}

/** A read-only view of some layers (a `COPY --from` source). */
export interface ViewSnapshot {
  rootfs: string;
  remove(): Promise<void>;
}

export interface PrepareOptions {
  /** Stack the runtime's mount-point stubs at the bottom (for RUN). */
  forContainer?: boolean;
  /** More mount points (a RUN's `--mount` targets) to provide the same way. */
  stubs?: readonly { path: string; dir: boolean }[];
}

/**
 * Snapshots in the containerd sense: `prepare` gives a writable rootfs over a
 * chain of diff dirs (base first) whose changes form a new diff dir (kept with
 * `release(true)`, containerd's Commit); `view` gives a read-only rootfs.
 */
export interface Snapshotter {
  prepare(lowers: readonly Lower[], opts?: PrepareOptions): Promise<ActiveSnapshot>;
  view(lowers: readonly Lower[]): Promise<ViewSnapshot>;
}

/**
 * Snapshots on overlayfs: a step mounts its parents' diff dirs as lower dirs
 * and a new diff dir as the upper dir — no copying at any point.
 */
export class OverlaySnapshotter implements Snapshotter {
  constructor(
    private readonly diffs: DiffDirs,
    private readonly scratch: () => Promise<string>,
  ) {}

  async prepare(lowers: readonly Lower[], opts: PrepareOptions = {}): Promise<ActiveSnapshot> {
    const names = await this.lowerNames(lowers, opts.forContainer === true);
    const dir = await this.scratch();
    if (opts.stubs && opts.stubs.length > 0) names.splice(names.length - (opts.forContainer ? 2 : 1), 0, await makeStubs(join(dir, 'stubs'), opts.stubs));
    const rootfs = join(dir, 'rootfs');
    const work = join(dir, 'work');
    await Promise.all([mkdir(rootfs), mkdir(work)]);
    const upper = await this.diffs.create();
    try {
      await mountOverlay(rootfs, names, { upper: { upper: upper.path, work }, cwd: this.diffs.links });
    } catch (e) {
      await this.diffs.remove(upper.id);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    let mounted = true;
    let released = false;
    const unmountOnce = async (): Promise<void> => {
      if (!mounted) return;
      mounted = false;
      await unmount(rootfs);
    };
    return {
      rootfs,
      id: upper.id,
      upper: upper.path,
      unmount: unmountOnce,
      release: async (keep) => {
        await unmountOnce();
        if (released) return;
        released = true;
        await rm(dir, { recursive: true, force: true });
        if (!keep) await this.diffs.remove(upper.id);
      },
    };
  }

  async view(lowers: readonly Lower[]): Promise<ViewSnapshot> {
    const names = await this.lowerNames(lowers, false);
    const dir = await this.scratch();
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await mountOverlay(rootfs, names, { cwd: this.diffs.links });
    let mounted = true;
    return {
      rootfs,
      remove: async () => {
        if (mounted) await unmount(rootfs);
        mounted = false;
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  /** Short lower-dir names, topmost first, ending with an empty dir (and the runtime stubs above it). */
  private async lowerNames(lowers: readonly Lower[], forContainer: boolean): Promise<string[]> {
    const names = (await this.diffs.resolve(lowers)).reverse();
    if (forContainer) names.push(await this.diffs.runtimeStubs());
    names.push(await this.diffs.empty());
    return names;
  }
}

/** A dir holding an empty dir or file at each path, to stack as a lower (absolute path: it is not in `l/`). */
async function makeStubs(dir: string, stubs: readonly { path: string; dir: boolean }[]): Promise<string> {
  for (const stub of stubs) {
    const path = join(dir, stub.path);
    if (stub.dir) await mkdir(path, { recursive: true, mode: 0o755 });
    else {
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFile(path, '', { mode: 0o644 });
    }
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../image/blob-store.ts';
import { applyLayer } from '../image/layer-apply.ts';
import type { Layer } from '../image/oci.ts';
import { removeTree } from '../remove-tree.ts';
import { SPEC_MOUNT_POINTS } from './runtime-spec.ts';

/** Length of every name under `l/`. */
const SHORT = 16;

/**
 * A diff dir to stack under a mount: its id, and the layer it can be
 * unpacked from if the dir is gone (a cache hit whose dir was collected).
 */
export interface Lower {
  id: string;
  layer?: Layer;
}

/**
 * The diff dirs: one dir per layer under `snapshots/<id>`, holding the
 * layer's new and changed entries with their attributes, and its deletions
 * in either of two forms (see image/whiteouts.ts), even mixed in one dir:
 *
 * - overlay form: a deleted `NAME` is a 0:0 character device `NAME`, and a
 *   directory that hides what lower layers have in it (opaque) carries the
 *   xattr `trusted.overlay.opaque=y`;
 * - marker form, written only where the file system refuses the overlay
 *   form (overlayfs, where a root inside a container often lives): an empty
 *   regular file with mode 0 named `.wh.NAME` beside where `NAME` was, and
 *   `.wh..wh..opq` inside an opaque directory. The `.wh.` prefix is reserved
 *   by the OCI image spec: an entry so named that is not such a marker is
 *   refused by layer-tar.ts.
 *
 * Both forms give the same layer tar (layer-tar.ts) and the same stacked
 * tree (copy-snapshotter.ts). The overlay snapshotter mounts the dirs as
 * they are, so it understands only the overlay form: it is never used where
 * markers get written, as overlayfs cannot be mounted on such a root.
 *
 * A layer unpacked from a blob has its diffId's hex as id: a diff dir's
 * contents do not depend on its parents, so one dir serves every chain that
 * contains that layer. A layer made by a step has a random id and is the
 * step's overlay upper dir itself, written in place: the next step can stack
 * it as soon as the container exits, while the layer tar is still being
 * written. Every id also gets a short alias `l/<16 chars>` so that a mount
 * naming hundreds of lower dirs still fits the kernel's one-page option
 * limit. Unpacked dirs appear under their real name complete or not at all.
 */
export class DiffDirs {
  readonly snapshots: string;
  /** The dir of short aliases; mounts run with it as their working directory. */
  readonly links: string;

  /**
   * `fetchBlob` brings a layer's blob into `store` when a dir must be
   * unpacked from a blob that is not there (a hit imported with `--cache-from`).
   */
  /**
   * Lower ids found (or unpacked) and linked by this build → their short
   * names. Each step stacks every layer below it: checking them all again
   * would cost a stat and a symlink per layer, per step.
   */
  private readonly ready = new Map<string, string>();
  private stubs: Promise<string> | undefined;
  private emptyDir: Promise<string> | undefined;

  constructor(
    root: string,
    private readonly store: BlobStore,
    private readonly scratch: () => Promise<string>,
    private readonly fetchBlob?: (layer: Layer) => Promise<void>,
  ) {
    this.snapshots = join(root, 'snapshots');
    this.links = join(root, 'l');
  }

  path(id: string): string {
    return join(this.snapshots, id);
  }

  /** The id of the dir a layer is unpacked into. */
  static idOf(layer: Layer): string {
    return layer.diffId.slice('sha256:'.length);
  }

  /**
   * The short names to mount for `lowers` (same order), unpacking from its
   * blob every layer whose dir is missing.
   */
  async resolve(lowers: readonly Lower[]): Promise<string[]> {
    const names: string[] = [];
    for (const lower of lowers) {
      const known = this.ready.get(lower.id);
      if (known !== undefined) {
        names.push(known);
        continue;
      }
      let id = lower.id;
      if (!(await exists(this.path(id)))) {
        if (!lower.layer) throw new Error(`snapshot ${id} is missing and has no layer to unpack`);
        id = DiffDirs.idOf(lower.layer);
        if (!(await exists(this.path(id)))) await this.unpack(lower.layer, id);
      }
      const name = this.link(id);
      this.ready.set(lower.id, name);
      names.push(name);
    }
    return names;
  }

  /**
   * A new, empty diff dir for a step to write (as its overlay upper dir).
   * Synchronous calls: each step makes one, and a thread-pool round trip
   * per mkdir and symlink costs more than the calls themselves.
   */
  async create(): Promise<{ id: string; path: string }> {
    mkdirSync(this.snapshots, { recursive: true });
    const id = `s${randomBytes(SHORT).toString('hex').slice(0, SHORT - 1)}`;
    const path = this.path(id);
    mkdirSync(path);
    this.ready.set(id, this.link(id));
    return { id, path };
  }

  async remove(id: string): Promise<void> {
    this.ready.delete(id);
    await rm(join(this.links, id.slice(0, SHORT)), { force: true });
    await removeTree(this.path(id));
  }

  /** An always-empty dir: the bottom lower of every mount (a read-only overlay needs two lowers). */
  empty(): Promise<string> {
    this.emptyDir ??= mkdir(join(this.links, 'empty'), { recursive: true }).then(() => 'empty');
    return this.emptyDir;
  }

  /**
   * A lower dir holding an empty file or dir at each mount point of a RUN
   * container. Stacked at the bottom of RUN mounts, it makes the runtime find
   * its mount points already there, so it never creates them in the upper
   * dir — where they, and the copied-up parents they need, would end up in
   * the layer.
   */
  runtimeStubs(): Promise<string> {
    this.stubs ??= this.makeRuntimeStubs();
    return this.stubs;
  }

  private async makeRuntimeStubs(): Promise<string> {
    const dir = join(this.links, 'stubs');
    const done = join(this.links, 'stubs.complete');
    if (await exists(done)) return 'stubs';
    const tmp = join(await this.scratch(), 'stubs');
    for (const p of SPEC_MOUNT_POINTS) {
      if (p.startsWith('/etc/')) {
        await mkdir(join(tmp, 'etc'), { recursive: true, mode: 0o755 });
        await writeFile(join(tmp, p), '', { mode: 0o644 });
      } else await mkdir(join(tmp, p), { recursive: true, mode: 0o755 });
    }
    await mkdir(this.links, { recursive: true });
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    });
    // the marker sits beside the dir: inside, every RUN would see it
    await writeFile(done, '');
    return 'stubs';
  }

  private async unpack(layer: Layer, id: string): Promise<void> {
    await this.fetchBlob?.(layer);
    const tmp = await this.scratch();
    try {
      const dir = join(tmp, 'diff');
      await mkdir(dir);
      await applyLayer(this.store.createReadStream(layer.descriptor.digest), dir, { whiteouts: 'overlay', expectDiffId: layer.diffId });
      await mkdir(this.snapshots, { recursive: true });
      await rename(dir, this.path(id)).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private link(id: string): string {
    const name = id.slice(0, SHORT);
    mkdirSync(this.links, { recursive: true });
    try {
      symlinkSync(join('..', 'snapshots', id), join(this.links, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    return name;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

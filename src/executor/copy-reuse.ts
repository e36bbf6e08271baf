/**
 * A COPY from the build context reuses the files its previous run wrote.
 *
 * After one file of a big context changed, `COPY . .` runs again, and used
 * to create every file anew (20,000 creates, writes and attribute changes).
 * Now a file whose source did not change is hard-linked from the snapshot
 * the previous run of the same COPY made. That is sound because a committed
 * snapshot is never written again (overlayfs copies a lower file up before
 * changing it), and a linked file has the bytes, mode, owner and mtime the
 * copy would give it, so the layer comes out byte for byte the same.
 *
 * What a run wrote is remembered in `cache/memo/copies/<key>.json` (gone with
 * `prune --all`, like the other memos), keyed by the
 * COPY's identity (its Dockerfile location, the context, its sources,
 * destination and flags): the snapshot, and for each regular file written
 * (by its path in the snapshot) the source path, its stat stamp and its
 * content sha256. A file is linked only when all three still match; no
 * record, a snapshot collected since, a failed link (it is gone, or has too
 * many links already) all mean a plain copy.
 *
 *   const reuse = await CopyReuse.open(root, identity, previousSnapshot, upper, entryOf);
 *   await copyIntoRootfs({ ...request, reuse });
 *   await reuse.save(snapshotId);
 */
import { createHash } from 'node:crypto';
import { linkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ContextEntry } from '../context/tree.ts';
import { writeFileAtomic } from '../write-file-atomic.ts';

const VERSION = 1;

interface Remembered {
  version: number;
  snapshot: string;
  /** Path in the snapshot → [source path in the context, stamp, sha256]. */
  files: Record<string, [string, string, string]>;
}

export class CopyReuse {
  private readonly written: Remembered['files'] = {};

  private constructor(
    private readonly file: string,
    private readonly previous: { dir: string; files: Remembered['files'] } | undefined,
    private readonly upper: string,
    private readonly contextDir: string,
    private readonly entryOf: (rel: string) => ContextEntry | undefined,
  ) {}

  /**
   * The record of the COPY `identity` under `root`; `snapshotDir` maps a
   * snapshot id to its dir. `upper` is where this run writes, `entryOf`
   * gives the context's entry (stamp, sha256) of a source path.
   */
  static async open(
    root: string,
    identity: unknown,
    snapshotDir: (id: string) => string,
    upper: string,
    context: { dir: string; entryOf: (rel: string) => ContextEntry | undefined },
  ): Promise<CopyReuse> {
    const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
    const file = join(root, 'cache', 'memo', 'copies', `${key}.json`);
    const record = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as Remembered,
      () => undefined,
    );
    const previous = record?.version === VERSION ? { dir: snapshotDir(record.snapshot), files: record.files } : undefined;
    return new CopyReuse(file, previous, upper, context.dir, context.entryOf);
  }

  /**
   * Hard-links `dest` to the previous run's copy of `src` when the source is
   * unchanged; false (nothing done) when it must be copied.
   */
  link(src: string, dest: string): boolean {
    const at = this.inUpper(dest);
    const before = at === undefined ? undefined : this.previous?.files[at];
    const now = this.sourceState(src);
    if (!before || !now || before[0] !== now[0] || before[1] !== now[1] || before[2] !== now[2]) return false;
    try {
      linkSync(join(this.previous?.dir as string, at as string), dest);
    } catch {
      return false;
    }
    this.written[at as string] = now;
    return true;
  }

  /** Notes a regular file this run copied, for the next run. */
  copied(src: string, dest: string): void {
    const at = this.inUpper(dest);
    const now = this.sourceState(src);
    if (at !== undefined && now) this.written[at] = now;
  }

  /** Remembers what this run wrote, as the snapshot `id`. */
  async save(id: string): Promise<void> {
    const record: Remembered = { version: VERSION, snapshot: id, files: this.written };
    await writeFileAtomic(this.file, JSON.stringify(record));
  }

  /** `dest`'s path in the upper dir; undefined for a destination elsewhere (written through the mount). */
  private inUpper(dest: string): string | undefined {
    return dest.startsWith(`${this.upper}/`) ? dest.slice(this.upper.length + 1) : undefined;
  }

  /** What identifies a source file's content now; undefined when the context has not hashed it. */
  private sourceState(src: string): [string, string, string] | undefined {
    const rel = posix.relative(this.contextDir, src);
    const e = this.entryOf(rel);
    return e?.kind === 'file' && e.sha256 !== undefined ? [rel, e.stamp, e.sha256] : undefined;
  }
}

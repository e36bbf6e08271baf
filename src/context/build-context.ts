/**
 * The build context of one build: the directory COPY/ADD read from, filtered
 * by its ignore file, with content digests through a persistent stat cache.
 *
 *   const ctx = await BuildContext.open('/src/app', { dockerfile: '/src/app/Dockerfile', root: '/var/lib/tsbuild' });
 *   const selection = await ctx.select(['src/*.ts', 'package.json'], where);   // what COPY copies
 *   const digest = await ctx.digest(selection);                                // its cache-key input
 *   await ctx.close();                                                         // saves the stat cache
 *
 * `select` is memoized per source list, so the planner (which digests) and
 * the executor (which copies) see the same entries. Selection rules are in
 * select.ts, ignore rules in tree.ts, what a digest covers in digest.ts.
 */
import { createHash } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, type SourceLocation } from '../errors.ts';
import type { Digest } from '../image/oci.ts';
import { digestSelection } from './digest.ts';
import { HashPool } from './hash-pool.ts';
import { loadIgnoreRules, type IgnoreRules } from './ignore-file.ts';
import { selectInContext, type ContextSelection, type SelectedPath } from './select.ts';
import { StatCache } from './stat-cache.ts';
import { ContextTree, unreadable, type ContextEntry } from './tree.ts';

export interface BuildContextOptions {
  /** The Dockerfile: `<Dockerfile>.dockerignore` beside it takes precedence over `.dockerignore`. */
  dockerfile?: string;
  /** `$TSBUILD_ROOT`: the stat cache lives in `context-cache/` under it. Without it, nothing persists. */
  root?: string;
}

/** One build's context: open it once, select and digest COPY sources, close it at the end. */
export class BuildContext {
  private readonly selections = new Map<string, Promise<SelectedPath[]>>();
  private readonly entries = new WeakMap<SelectedPath, ContextEntry[]>();
  private readonly pool = new HashPool();
  /** What digests cost so far: files read (and their bytes), and files the stat cache answered. */
  readonly stats = { filesHashed: 0, bytesHashed: 0, cacheHits: 0 };

  private constructor(
    readonly tree: ContextTree,
    private readonly cache: StatCache,
  ) {}

  /** Opens the context at `dir` (symlinks in `dir` itself resolved) and loads its ignore file and stat cache. */
  static async open(dir: string, opts: BuildContextOptions = {}): Promise<BuildContext> {
    // synchronous calls: a few, each far cheaper than a promise's round trip through the thread pool
    const root = realpathNative(dir);
    if (root === undefined || !statSync(root).isDirectory()) throw new UserError(`build context ${dir} is not a directory`);
    const ignore = loadIgnoreRules(root, opts.dockerfile);
    const cacheFile = opts.root === undefined ? undefined : join(opts.root, 'context-cache', `${createHash('sha256').update(root).digest('hex').slice(0, 32)}.bin`);
    const cache = await StatCache.open(cacheFile);
    return new BuildContext(new ContextTree(root, ignore, cache), cache);
  }

  /** The context directory (absolute, symlinks resolved). */
  get dir(): string {
    return this.tree.root;
  }

  /** The ignore file in use, if any. */
  get ignore(): IgnoreRules | undefined {
    return this.tree.ignore;
  }

  /** What COPY/ADD `sources` select (see select.ts); the same answer for the same sources during this build. */
  select(sources: readonly string[], where: SourceLocation): Promise<SelectedPath[]> {
    const key = JSON.stringify(sources);
    let found = this.selections.get(key);
    if (!found) {
      found = Promise.resolve().then(() => {
        const selection = selectInContext(this.tree, sources, where);
        for (const [path, entries] of selection.entries) this.entries.set(path, entries);
        return selection.paths;
      });
      this.selections.set(key, found);
    }
    return found;
  }

  /** The content digest of a selection made by `select` (see digest.ts for exactly what it covers). */
  async digest(paths: readonly SelectedPath[]): Promise<Digest> {
    const selection: ContextSelection = { paths: [...paths], entries: new Map() };
    const files: ContextEntry[] = [];
    for (const path of paths) {
      const entries = this.entries.get(path);
      if (!entries) throw new Error(`internal: ${path.rel} was not selected from this build context`);
      selection.entries.set(path, entries);
      // an index, not for-of: unoptimized for-of allocates on every step, and this runs once per build
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as ContextEntry;
        if (e.kind === 'file' && e.sha256 === undefined) files.push(e);
      }
    }
    await this.fillContentHashes(files);
    return digestSelection(selection);
  }

  /**
   * What the digest of a selection made by `select` covers, entry by entry
   * (paths relative to the context root; files carry their sha256 once
   * `digest` ran): what `--explain` compares to name the files that changed.
   */
  entriesOf(paths: readonly SelectedPath[]): ContextEntry[] {
    return paths.flatMap((p) => this.entries.get(p) ?? []);
  }

  /** Saves the stat cache and stops the hashing workers. */
  async close(): Promise<void> {
    await this.pool.close();
    await this.cache.save();
  }

  /** Sets each file's sha256: from the stat cache when its stamp is known, else read (on all cores when there is enough). */
  private async fillContentHashes(files: readonly ContextEntry[]): Promise<void> {
    const todo = new Map<string, ContextEntry[]>();
    for (let i = 0; i < files.length; i++) {
      const e = files[i] as ContextEntry;
      const known = this.cache.lookup(e.stamp);
      if (known !== undefined) {
        this.stats.cacheHits++;
        e.sha256 = known;
        continue;
      }
      // the same file twice (hard links, overlapping sources) is read once
      const same = todo.get(e.stamp);
      if (same) same.push(e);
      else todo.set(e.stamp, [e]);
    }
    const groups = [...todo.values()];
    const outcomes = await this.pool.hash(groups.map((g) => ({ path: this.tree.abs((g[0] as ContextEntry).rel), size: (g[0] as ContextEntry).size })));
    outcomes.forEach((r, i) => {
      const group = groups[i] as ContextEntry[];
      const first = group[0] as ContextEntry;
      if (!r.ok) {
        throw r.code === 'ENOTREG' || r.code === 'ELOOP' || r.code === 'ENOENT'
          ? new UserError(`${first.rel} in the build context changed while it was being read; run the build again`)
          : unreadable(first.rel, Object.assign(new Error(r.code), { code: r.code }));
      }
      this.stats.filesHashed++;
      this.stats.bytesHashed += first.size;
      this.cache.record(first.stamp, first.changedMs, r.sha256, r.startedMs);
      for (const e of group) e.sha256 = r.sha256;
    });
  }
}

/** The path with every symlink resolved (by the C library, as fs/promises' realpath does), or undefined when it cannot be. */
function realpathNative(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

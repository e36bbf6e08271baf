import { join } from 'node:path';
import { BuildCache } from '../cache/build-cache.ts';
import { BuildHistory, describeBuild, type BuildDescription } from '../cache/build-history.ts';
import { CacheStore } from '../cache/cache-store.ts';
import { explainMisses, formatMiss } from '../cache/explain.ts';
import type { Digest } from '../image/oci.ts';
import { BlobStore } from '../image/blob-store.ts';
import type { LoadedPlan } from './load-plan.ts';

/** A planned build as the cache history records it (call before closing its context). */
export function describeLoaded(loaded: LoadedPlan, buildArgs: ReadonlyMap<string, string>, target: string | undefined): Promise<BuildDescription> {
  return describeBuild(loaded.plan, loaded.context, { dockerfile: loaded.dockerfile, target: target ?? '', buildArgs: [...buildArgs.keys()] });
}

export interface ExplainOptions {
  /** `$TSBUILD_ROOT`. */
  root: string;
  buildArgs: ReadonlyMap<string, string>;
  /** `--target`, as given (undefined: the last stage). */
  target?: string;
  /** The build's cache view (with its `--cache-from` sources); default: the local records. */
  cache?: BuildCache;
  /** Why a key's record is ignored on purpose (`--no-cache`...). */
  ignored?: (key: Digest) => string | undefined;
  /** The plan's description, when the caller has made it already. */
  description?: BuildDescription;
}

/**
 * `--explain`: one line per step that will miss the cache, saying what
 * differs from the last build of the same Dockerfile and target, e.g.
 * `COPY . /app: 1 file changed: src/mod003/file004.txt`. For
 * `tsbuild plan --explain` (call it before closing the plan's context) and
 * `tsbuild build --explain`. An empty list: every step is cached.
 */
export async function explainPlan(loaded: LoadedPlan, opts: ExplainOptions): Promise<string[]> {
  const blobs = new BlobStore(join(opts.root, 'blobs'));
  const cache = opts.cache ?? new BuildCache({ root: opts.root, store: new CacheStore(opts.root, blobs), blobs });
  const history = new BuildHistory(opts.root);
  const current = opts.description ?? (await describeLoaded(loaded, opts.buildArgs, opts.target));
  const misses = await explainMisses({
    current,
    previous: await history.last(loaded.dockerfile, opts.target ?? ''),
    history,
    isHit: async (key) => (await cache.lookup(key)) !== undefined,
    ignored: opts.ignored ?? (() => undefined),
  });
  return misses.map(formatMiss);
}

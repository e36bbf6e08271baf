import { join } from 'node:path';
import { collectIfDue } from '../cache/auto-gc.ts';
import type { BuildCache } from '../cache/build-cache.ts';
import type { CacheSource, CacheTarget } from '../cache/cache-spec.ts';
import { CacheStore } from '../cache/cache-store.ts';
import { BuildSession } from '../executor/session.ts';
import { BlobStore } from '../image/blob-store.ts';
import { ImageStore } from '../image/image-store.ts';
import type { CompressionSpec } from '../image/compression.ts';
import type { Descriptor, Manifest, Platform } from '../image/oci.ts';
import { formatReference, parseReference } from '../image/reference.ts';
import { UserError } from '../errors.ts';
import type { NetworkMode } from '../executor/runtime-spec.ts';
import type { RuntimeChoice } from '../executor/oci-runtime.ts';
import type { ProgressEvent, ProgressSink } from '../progress/events.ts';
import type { SecretSource } from '../executor/run-mounts.ts';
import { humanSize } from '../progress/units.ts';
import { cachedLabels, finishFromMemo, lookUpMemo, recordMemo, replayMemo, type MemoLookup } from './build-memo.ts';
import type { OutputSpec } from './export.ts';
import type { NamedContext } from './named-contexts.ts';
import type { BuildContext } from '../context/build-context.ts';

export interface BuildOptions {
  /** The build context directory. */
  contextDir: string;
  /** The Dockerfile path; default `<context>/Dockerfile`. */
  dockerfile?: string;
  /** `$TSBUILD_ROOT`: blobs, snapshots, cache and image names live here. */
  root: string;
  tags: string[];
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  noCache: boolean;
  /** `--no-cache-filter`: stage names (or indexes) to rebuild, with every step that depends on them. */
  noCacheFilter?: string[];
  /** `--explain`: print, for each step that misses the cache, what differs from the last build of this Dockerfile and target. */
  explain?: boolean;
  /** `--cache-from`: `type=registry,ref=REF`, `type=local,src=DIR` (see cache/cache-spec.ts). */
  cacheFrom?: string[];
  /** `--cache-to`: `type=registry,ref=REF[,mode=min|max]`, `type=local,dest=DIR[,mode=…]`. */
  cacheTo?: string[];
  /**
   * The automatic store limit, checked after the build at most once an hour:
   * `keepStorage` bytes (default 10% of the store's file system); false: never.
   */
  gc?: { keepStorage?: number; intervalMs?: number } | false;
  /** `--cache-mounts-dir`: fill `RUN --mount=type=cache` dirs from here before the build, copy them back after (see cache/cache-mounts.ts). */
  cacheMountsDir?: string;
  /** `-o/--output` exporters (see export.ts). */
  outputs: OutputSpec[];
  /**
   * `--compression`/`--compression-level`: new layers are written with it,
   * and layers of another algorithm (base image, cache hits) are converted
   * (default: new layers gzip level 1, others kept as they are).
   */
  compression?: CompressionSpec;
  sourceDateEpoch?: number;
  platform?: Platform;
  /** `--secret`: values RUN `--mount=type=secret` can read; never stored anywhere. */
  secrets?: ReadonlyMap<string, SecretSource>;
  /** `--ssh`: agent sockets by id. */
  ssh?: ReadonlyMap<string, string>;
  /** `--label`: set on the image config, over the Dockerfile's LABELs. */
  labels?: ReadonlyMap<string, string>;
  /** `--pull`: ask the registry for base images even when the local store has them. */
  pull?: boolean;
  /** `--network`: the network of RUN steps without `--network` (`default` and `host` are the same here: no bridge exists). */
  network?: NetworkMode;
  /** `--build-context`: names that FROM and `COPY --from` resolve to another image (see named-contexts.ts). */
  buildContexts?: ReadonlyMap<string, NamedContext>;
  /** `--runtime`: `runc`, `crun`, or `auto` (the fastest that works here); default `$TSBUILD_RUNTIME`, else auto. */
  runtime?: RuntimeChoice;
  /** `--push`: push the image to the registry of each of `tags` (at least one is needed). */
  push?: boolean;
  progress: ProgressSink;
  /** Receives the function that stops the build (kill containers; steps then unmount) when the caller is interrupted. */
  onAbortable?: (abort: () => Promise<void>) => void;
}

export interface BuildResult {
  manifest: Descriptor;
  config: Descriptor;
  /** `tags`, fully qualified. */
  names: string[];
  /** The layers' (compressed) bytes, and how many there are. */
  size: number;
  layers: number;
  /** The build memo answered: nothing was parsed, planned or run. */
  replayed?: boolean;
  /** The build left a memo: the same build again is answered by it while nothing changes. */
  memoized?: boolean;
}


/**
 * One `tsbuild build`: parse, plan, execute, then store the image, name it
 * and export it. The library entry point; the CLI only maps flags onto it.
 *
 * The whole build runs in a build session, which keeps garbage collection
 * away from everything it reads and writes; the automatic limit is checked
 * once the session is closed.
 */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  if (opts.push && opts.tags.length === 0) throw new UserError('--push needs a name to push to: give -t NAME');
  const started = performance.now();
  const counted = countSteps(opts.progress);
  opts = { ...opts, progress: counted.sink };
  const transfer = await cacheTransfer(opts.cacheFrom ?? [], opts.cacheTo ?? []);
  const opening = BuildSession.open(opts.root, () => opts.progress({ type: 'info', message: 'waiting for a garbage collection of the store to finish' }));
  // looked up (synchronously) while the session's first file system call runs: the memo needs nothing
  // from the store; a failure is thrown where buildInSession awaits it, or dropped if the session fails
  const memo = lookUpMemo(opts);
  void memo.catch(() => undefined);
  const session = await opening;
  let result: BuildResult;
  try {
    result = await buildInSession(opts, session, transfer, await memo);
  } finally {
    await session.close();
  }
  if (opts.gc !== false) {
    const report = await collectIfDue(opts.root, opts.gc ?? {});
    if (report) {
      opts.progress({ type: 'info', message: `garbage collection: removed ${report.records} cache records, freed ${humanSize(report.freed)}; the store takes ${humanSize(report.after)}` });
    }
  }
  const { manifest, config, names, size, layers } = result;
  const { steps, cached } = counted;
  const seconds = (performance.now() - started) / 1000;
  opts.progress({ type: 'result', result: { manifest: manifest.digest, config: config.digest, names, size, layers, steps, cached, seconds } });
  return result;
}

/** Passes events on, counting the plan's steps and the cache hits for the summary. */
function countSteps(sink: ProgressSink): { sink: ProgressSink; steps: number; cached: number } {
  const counts = {
    steps: 0,
    cached: 0,
    sink: (e: ProgressEvent): void => {
      if (e.type === 'plan') counts.steps = e.steps;
      else if (e.type === 'step-cached') counts.cached++;
      sink(e);
    },
  };
  return counts;
}

/** Opens each `--build-context NAME=DIR` as a build context of its own (with its own .dockerignore). */
async function openNamedDirs(contexts: ReadonlyMap<string, NamedContext>, root: string): Promise<Map<string, BuildContext>> {
  const out = new Map<string, BuildContext>();
  for (const [name, c] of contexts) if (c.kind === 'dir') out.set(name, await (await import('../context/build-context.ts')).BuildContext.open(c.dir, { root }));
  return out;
}

interface CacheTransfer {
  cacheFrom: CacheSource[];
  cacheTo: CacheTarget[];
}

/** `--cache-from` and `--cache-to`, checked; undefined when neither is given (their parser is loaded only when one is). */
async function cacheTransfer(from: readonly string[], to: readonly string[]): Promise<CacheTransfer | undefined> {
  if (from.length + to.length === 0) return undefined;
  const { parseCacheFrom, parseCacheTo } = await import('../cache/cache-spec.ts');
  return { cacheFrom: from.map(parseCacheFrom), cacheTo: to.map(parseCacheTo) };
}

async function buildInSession(opts: BuildOptions, session: BuildSession, transfer: CacheTransfer | undefined, memo: MemoLookup | undefined): Promise<BuildResult> {
  const tags = opts.tags.map(parseReference);
  const store = new BlobStore(join(opts.root, 'blobs'));
  const images = new ImageStore(join(opts.root, 'images'));
  if (memo?.memo) {
    const replayed = await replayMemo(memo.memo, { cache: new CacheStore(opts.root, store), blobs: store, images });
    if (replayed) return finishFromMemo(replayed, tags, images, opts);
  }
  const readStartMs = Date.now();
  const {
    BuildCache: Cache,
    BuildHistory,
    RegistrySession,
    blobLocations,
    cacheMountIds,
    describeLoaded,
    executePlan,
    explainPlan,
    exportCacheMounts,
    exportCaches,
    exportOutputs,
    hostPlatform,
    ignoredKeys,
    imageResolver,
    importCacheMounts,
    importCaches,
    loadPlan,
    pushEvents,
    pushImage,
    runtimeFromEnv,
    storeImage,
    withNamedContexts,
  } = await import('./pipeline.ts');
  const registry = new RegistrySession();
  const platform = opts.platform ?? hostPlatform();
  const resolveImage = withNamedContexts(
    imageResolver(store, images, platform, opts.progress, { pull: opts.pull ?? false }),
    opts.buildContexts ?? new Map(),
    store,
    platform,
  );
  const namedContexts = await openNamedDirs(opts.buildContexts ?? new Map(), opts.root);
  const loaded = await loadPlan({
    contextDir: opts.contextDir,
    root: opts.root,
    ...(opts.network !== undefined && { defaultNetwork: opts.network }),
    namedContexts,
    ...(opts.dockerfile !== undefined && { dockerfile: opts.dockerfile }),
    buildArgs: opts.buildArgs,
    ...(opts.target !== undefined && { target: opts.target }),
    platform,
    store,
    images,
    progress: opts.progress,
    resolveImage,
    ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
  });
  const { plan, context } = loaded;
  opts.progress({ type: 'plan', steps: plan.stages.reduce((n, s) => n + s.steps.length, 0) });
  let cache: BuildCache;
  let description;
  let built;
  try {
    const ignored = ignoredKeys(plan, opts.noCache, opts.noCacheFilter ?? [], loaded.stageNames);
    const remotes = transfer ? await importCaches(transfer.cacheFrom, store, opts.progress, registry) : [];
    cache = new Cache({ root: opts.root, store: new CacheStore(opts.root, store), blobs: store, ignore: (key) => ignored(key) !== undefined, remotes });
    description = await describeLoaded(loaded, opts.buildArgs, opts.target);
    if (opts.cacheMountsDir !== undefined) {
      const imported = await importCacheMounts(opts.root, opts.cacheMountsDir, cacheMountIds(plan));
      if (imported.length > 0) opts.progress({ type: 'info', message: `cache mounts imported from ${opts.cacheMountsDir}: ${imported.join(', ')}` });
    }
    if (opts.explain) {
      const lines = await explainPlan(loaded, { root: opts.root, buildArgs: opts.buildArgs, ...(opts.target !== undefined && { target: opts.target }), cache, ignored, description });
      for (const line of lines) opts.progress({ type: 'info', message: `cache miss: ${line}` });
      if (lines.length === 0) opts.progress({ type: 'info', message: 'every step is cached' });
    }
    built = await executePlan(plan, {
      root: opts.root,
      session,
      runtime: opts.runtime ?? runtimeFromEnv(),
      store,
      cache,
      context,
      namedContexts,
      secrets: opts.secrets ?? new Map(),
      ssh: opts.ssh ?? new Map(),
      progress: opts.progress,
      ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
      ...(opts.compression && { compression: opts.compression }),
      ...(opts.onAbortable && { onAbortable: opts.onAbortable }),
    });
  } finally {
    await context.close();
    for (const c of namedContexts.values()) await c.close();
  }

  // hits imported with --cache-from name layers that may not be here yet
  for (const layer of built.layers) await cache.ensureBlob(layer);
  if (opts.labels && opts.labels.size > 0) {
    built.config = { ...built.config, config: { ...built.config.config, Labels: { ...built.config.config?.Labels, ...Object.fromEntries(opts.labels) } } };
  }
  const stored = await storeImage(store, built.config, built.layers, opts.compression ? { compression: opts.compression } : {});
  opts.progress({ type: 'info', message: `writing image ${stored.config.digest}` });
  for (const ref of tags) {
    await images.tag(ref, stored.manifest);
    opts.progress({ type: 'info', message: `naming to ${formatReference(ref)}` });
  }
  if (opts.push) {
    await pushImage(store, stored.manifest, tags, { session: registry, knownLocations: await blobLocations(store, images), onProgress: pushEvents(opts.progress) });
  }
  await exportOutputs(opts.outputs, {
    store,
    manifest: stored.manifest,
    tags,
    root: opts.root,
    progress: opts.progress,
    ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
  });
  await new BuildHistory(opts.root).save(description);
  if (opts.cacheMountsDir !== undefined) {
    const exported = await exportCacheMounts(opts.root, opts.cacheMountsDir, cacheMountIds(plan));
    if (exported.length > 0) opts.progress({ type: 'info', message: `cache mounts exported to ${opts.cacheMountsDir}: ${exported.join(', ')}` });
  }
  if (transfer) await exportCaches(transfer.cacheTo, plan, cache, store, opts.progress, registry);
  const { layers } = await store.readJson<Manifest>(stored.manifest.digest);
  const size = layers.reduce((n, l) => n + l.size, 0);
  const memoized = memo !== undefined && (await recordMemo(memo.slot, loaded, { ...stored, size, layers: layers.length, steps: plan.stages.reduce((n, s) => n + s.steps.length, 0), labels: cachedLabels(plan) }, readStartMs));
  return { ...stored, names: tags.map(formatReference), size, layers: layers.length, memoized };
}

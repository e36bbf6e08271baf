/**
 * The fast path of a rebuild with nothing changed: what the last build
 * depended on, checked by the next build before it parses or plans anything.
 *
 * A build leaves a memo under `cache/memo/` (one per context, Dockerfile
 * and target), whether its steps ran or were cache hits: a rebuild right
 * after it would hit every step and give the same image. It holds:
 *
 * - `inputs`: the context and Dockerfile paths, the Dockerfile's text and
 *   every option that changes the result (build args, target, platform,
 *   labels, timestamps, compression...);
 * - `paths` and `stamps`: every build-context path the build read (the
 *   entries COPY/ADD/bind mounts selected, their parent dirs, the ignore
 *   files), and their lstat stamps (device, inode, size, mtime, ctime) in
 *   order, as base64: the stat cache's own trust rule for content;
 * - `images`: the local names of the base images and the digests they named;
 * - `keys`: every step's cache key (each record must still be there);
 * - the step labels it reported, and the result.
 *
 * When all of that still holds, the build is the memo's result: the same
 * `CACHED` lines, the same image, named again; nothing is parsed, planned,
 * hashed or mounted. Anything else (a memo that does not match, a build
 * that ran a step, options a memo cannot answer such as outputs or
 * `--no-cache`) takes the normal path.
 *
 * Nothing is hashed: the memo holds what it was made from and is compared
 * with it as it is (node:crypto would cost a tenth of such a rebuild just to
 * load). Its file is named by a hash of the context, Dockerfile and target
 * (name-hash.ts); `inputs` holds them too, so a name two builds share is a
 * miss, never a wrong answer.
 */
import { basename, dirname, join, resolve } from 'node:path';
import type { CacheStore } from '../cache/cache-store.ts';
import { changedMsOfStamp, RACY_WINDOW_MS, stampKeyOf, stampOfPath } from '../context/stat-cache.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { ImageStore } from '../image/image-store.ts';
import type { Descriptor, Digest } from '../image/oci.ts';
import { formatReference, parseReference, type Reference } from '../image/reference.ts';
import { nameHash } from '../name-hash.ts';
import type { Plan, SourceRoot } from '../planner/plan.ts';
import { stepLabel } from '../planner/step-label.ts';
import { readTextIfAny } from '../read-text.ts';
import { writeFileAtomic } from '../write-file-atomic.ts';
import type { BuildOptions, BuildResult } from './build.ts';
import type { LoadedPlan } from './load-plan.ts';

const VERSION = 2;

/** A memo file (see the module comment). */
export interface Memo {
  version: number;
  inputs: string;
  paths: string[];
  stamps: string;
  images: [string, Digest][];
  keys: Digest[];
  labels: string[];
  steps: number;
  manifest: Descriptor;
  config: Descriptor;
  size: number;
  layers: number;
}

/** What a memo answers with: the image and what the build reported. */
export interface MemoResult {
  manifest: Descriptor;
  config: Descriptor;
  size: number;
  layers: number;
  /** How many steps the plan had, and the labels of those the build reported, in order (a replay reports them all cached). */
  steps: number;
  labels: string[];
}

/** Reports a memo's answer as the full build would (plan, each step cached, the image written) and names the image. */
export async function finishFromMemo(r: MemoResult, tags: readonly Reference[], images: ImageStore, opts: Pick<BuildOptions, 'progress' | 'explain'>): Promise<BuildResult> {
  opts.progress({ type: 'plan', steps: r.steps });
  if (opts.explain) opts.progress({ type: 'info', message: 'every step is cached' });
  r.labels.forEach((label, i) => opts.progress({ type: 'step-cached', id: i + 1, label }));
  opts.progress({ type: 'info', message: `writing image ${r.config.digest}` });
  for (const ref of tags) {
    await images.tag(ref, r.manifest);
    opts.progress({ type: 'info', message: `naming to ${formatReference(ref)}` });
  }
  return { manifest: r.manifest, config: r.config, names: tags.map(formatReference), size: r.size, layers: r.layers, replayed: true };
}

/** Where a build's memo lives, and what it must have been made from. */
export interface MemoSlot {
  file: string;
  /** The options, the paths and the Dockerfile's text (see the module comment). */
  inputs: string;
  dockerfile: string;
  text: string;
}

/** A build's memo slot, and the memo in it if what the memo depends on outside the store is unchanged. */
export interface MemoLookup {
  slot: MemoSlot;
  memo?: Memo;
}

/**
 * Where the memo of a build with these options lives, and the memo there if
 * the Dockerfile, the options and every context path it read are unchanged:
 * all a memo depends on outside the store. Undefined when a memo cannot
 * answer these options. The files are read synchronously: a build runs this
 * while its session opens (see build.ts), whose file system calls go to the
 * thread pool meanwhile.
 */
export async function lookUpMemo(opts: BuildOptions): Promise<MemoLookup | undefined> {
  if (!eligible(opts)) return undefined;
  const context = resolve(opts.contextDir);
  const dockerfile = resolve(opts.dockerfile ?? join(context, 'Dockerfile'));
  const text = readTextIfAny(dockerfile);
  if (text === undefined) return undefined;
  const target = opts.target ?? '';
  const file = join(opts.root, 'cache', 'memo', `${nameHash(`${context}\0${dockerfile}\0${target}`)}.json`);
  const slot: MemoSlot = { file, inputs: inputsOf(opts, context, dockerfile, text), dockerfile, text };
  let memo: Memo;
  try {
    memo = JSON.parse(readTextIfAny(file) ?? '') as Memo;
  } catch {
    return { slot };
  }
  if (memo.version !== VERSION || memo.inputs !== slot.inputs || stampsOf(memo.paths) !== memo.stamps) return { slot };
  return { slot, memo };
}

/**
 * The memo's result if what it needs in the store is still there (see the
 * module comment); undefined otherwise. Hits mark the records used. Only
 * inside the build's session, which keeps garbage collection away.
 */
export async function replayMemo(memo: Memo, stores: { cache: CacheStore; blobs: BlobStore; images: ImageStore }): Promise<MemoResult | undefined> {
  // all at once: the blobs' stats run on the thread pool while the names and records are read (synchronously)
  const checks = await Promise.all([
    ...[memo.manifest, memo.config].map((d) => stores.blobs.has(d.digest)),
    ...memo.images.map(async ([name, digest]) => (await stores.images.resolve(parseReference(name)))?.digest === digest),
    ...memo.keys.map(async (key) => (await stores.cache.get(key)) !== undefined),
  ]);
  if (!checks.every(Boolean)) return undefined;
  return { manifest: memo.manifest, config: memo.config, size: memo.size, layers: memo.layers, steps: memo.steps, labels: memo.labels };
}

/**
 * Records a finished build for the next one; says whether it did. `loaded`
 * is the build's plan and context (the context's entries carry the stamps
 * it was planned with, so a file changed since makes the memo not match);
 * `readStartMs` is when the build began reading the context. Nothing is
 * written when a source pattern has a wildcard before its last component
 * (the dirs it scanned are not known here), nor when a path it depends on
 * had changed less than the stat cache's racy window before the build read
 * it: a second change within the same timestamp tick would keep its stamp,
 * and the memo would answer for content it never saw (stat-cache.ts).
 */
export async function recordMemo(slot: MemoSlot, loaded: LoadedPlan, result: MemoResult, readStartMs: number): Promise<boolean> {
  const { plan, context } = loaded;
  // the Dockerfile changed between the memo's lookup and the planning: the plan is not of the text the memo would hold
  if (loaded.text !== slot.text) return false;
  // in the order added, once each: a rebuild stats each once
  const paths = new Set<string>();
  let stamps = '';
  const trustedBefore = readStartMs - RACY_WINDOW_MS;
  let racy = false;
  /** `path` (absolute), its `stamp` (a stampKey; undefined: no such path) and when it last changed. */
  const add = (path: string, stamp: string | undefined, changedMs: number): void => {
    if (paths.has(path)) return;
    paths.add(path);
    stamps += stamp ?? ABSENT;
    if (changedMs > trustedBefore) racy = true;
  };
  /** A path the plan has no entry for, as it is now. */
  const addNow = (path: string): void => {
    const stamp = stampOfPath(path);
    add(path, stamp, stamp === undefined ? -Infinity : changedMsOfStamp(stamp));
  };
  addNow(join(dirname(slot.dockerfile), `${basename(slot.dockerfile)}.dockerignore`));
  addNow(context.tree.abs('.dockerignore'));
  for (const stage of plan.stages) {
    for (const step of stage.steps) {
      for (const sources of contextSources(step.op)) {
        for (const source of sources) {
          const parts = source.split('/').filter((p) => p !== '' && p !== '.');
          const wild = parts.findIndex((p) => /[*?[\\]/.test(p));
          if (wild >= 0 && wild < parts.length - 1) return false;
          // the dirs above the source: replacing one with a link, or (for a wildcard) adding a match, changes their stamp
          for (let i = 1; i < parts.length; i++) addNow(context.tree.abs(parts.slice(0, i).join('/')));
          if (wild >= 0) addNow(context.tree.abs(parts.slice(0, wild).join('/') || '.'));
        }
        for (const e of context.entriesOf(await context.select(sources, step.location))) add(context.tree.abs(e.rel), e.stamp, e.changedMs);
      }
    }
  }
  if (racy) return false;
  const memo: Memo = {
    version: VERSION,
    inputs: slot.inputs,
    paths: [...paths],
    stamps: base64(stamps),
    images: imagesOf(plan),
    keys: plan.stages.flatMap((s) => s.steps.map((st) => st.key)),
    ...result,
  };
  await writeFileAtomic(slot.file, JSON.stringify(memo));
  return true;
}

function eligible(opts: BuildOptions): boolean {
  return (
    !opts.noCache &&
    (opts.noCacheFilter ?? []).length === 0 &&
    (opts.cacheFrom ?? []).length === 0 &&
    (opts.cacheTo ?? []).length === 0 &&
    opts.outputs.length === 0 &&
    !opts.push &&
    !opts.pull &&
    (opts.buildContexts?.size ?? 0) === 0 &&
    opts.cacheMountsDir === undefined &&
    opts.dockerfile !== '-'
  );
}

function inputsOf(opts: BuildOptions, context: string, dockerfile: string, dockerfileText: string): string {
  const sorted = (m: ReadonlyMap<string, string> | undefined): [string, string][] => [...(m ?? new Map<string, string>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({
    context,
    dockerfile,
    text: dockerfileText,
    buildArgs: sorted(opts.buildArgs),
    labels: sorted(opts.labels),
    target: opts.target ?? null,
    platform: opts.platform ?? null,
    sourceDateEpoch: opts.sourceDateEpoch ?? null,
    compression: opts.compression ?? null,
    network: opts.network ?? null,
  });
}

/** The context sources of a step: COPY/ADD from the context, and RUN bind mounts of it. */
function contextSources(op: Plan['stages'][number]['steps'][number]['op']): string[][] {
  if (op.op === 'copy') return op.from.kind === 'context' && op.sources.length > 0 ? [op.sources] : [];
  if (op.op !== 'run') return [];
  return op.mounts.flatMap((m) => (m.type === 'bind' && m.from.kind === 'context' ? [[m.source === '/' ? '.' : m.source.slice(1)]] : []));
}

/**
 * The steps a build of `plan` that hits every step reports, in order: those
 * of the target stage and of the stages it is based on, base first. A stage
 * only read by `COPY --from` or a mount is not visited when the steps reading
 * it hit, so a memo made by a build that ran steps replays what the next
 * build would have reported.
 */
export function cachedLabels(plan: Plan): string[] {
  const chain: Plan['stages'] = [];
  const byIndex = (index: number): Plan['stages'][number] | undefined => plan.stages.find((s) => s.index === index);
  for (let s = byIndex(plan.target); s; s = s.base.kind === 'stage' ? byIndex(s.base.stage) : undefined) chain.unshift(s);
  return chain.flatMap((stage) => stage.steps.map((_, i) => stepLabel(stage, i)));
}

/** The local names the plan resolved images by: bases, `COPY --from` and `RUN --mount=from` images. */
function imagesOf(plan: Plan): [string, Digest][] {
  const out = new Map<string, Digest>();
  const note = (root: SourceRoot | Plan['stages'][number]['base']): void => {
    if (root.kind === 'image') out.set(root.image.name, root.image.manifest.digest);
  };
  for (const stage of plan.stages) {
    note(stage.base);
    for (const step of stage.steps) {
      if (step.op.op === 'copy') note(step.op.from);
      if (step.op.op === 'run') for (const m of step.op.mounts) if (m.type === 'bind') note(m.from);
    }
  }
  return [...out];
}

/**
 * The stamp of a path that does not exist: that of a file with inode 0,
 * which no file has. As long as a real stamp, so each stamp has its own
 * place in the string.
 */
const ABSENT = stampKeyOf(0, 0, 0, 0, 0);

/** The stamps of `paths` now, encoded as recordMemo encodes them. */
function stampsOf(paths: readonly string[]): string {
  let stamps = '';
  for (const p of paths) stamps += stampOfPath(p) ?? ABSENT;
  return base64(stamps);
}

/** Stamps (latin1 strings of bytes) as base64: JSON would spell most of their bytes as `\u00XX`. */
function base64(stamps: string): string {
  return Buffer.from(stamps, 'latin1').toString('base64');
}

import { readdirSync } from 'node:fs';
import { chmod, copyFile, lchown, mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import pLimit from 'p-limit';
import { join, posix } from 'node:path';
import type { BuildCache, StepClaim } from '../cache/build-cache.ts';
import type { BuildContext } from '../context/build-context.ts';
import { selectSources, type SelectedPath } from '../context/select.ts';
import { UserError, type SourceLocation } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { CompressionSpec } from '../image/compression.ts';
import { writeLayer, type WriteLayerOptions } from '../image/layer-writer.ts';
import type { HistoryEntry, ImageConfig, Layer } from '../image/oci.ts';
import type { Plan, SourceRoot, StagePlan, Step, StepOp } from '../planner/plan.ts';
import { stepLabel } from '../planner/step-label.ts';
import type { ProgressSink } from '../progress/events.ts';
import { parseChmod } from './chmod.ts';
import { applyExcludes, parentsDestination } from './copy-filters.ts';
import { copyIntoRootfs } from './copy.ts';
import { CopyReuse } from './copy-reuse.ts';
import { prepareRunMounts, type PreparedMounts, type SecretSource } from './run-mounts.ts';
import type { ContainerRunner } from './container-runner.ts';
import { DiffDirs, type Lower } from './diff-dirs.ts';
import { resolveScoped } from './scoped-path.ts';
import type { ActiveSnapshot, Snapshotter, ViewSnapshot } from './snapshotter.ts';
import { resolveUser } from './users.ts';

export interface ExecutorDeps {
  store: BlobStore;
  /** The cache as this build sees it (`--no-cache` and `--no-cache-filter` included). */
  cache: BuildCache;
  snapshotter: Snapshotter;
  runner: ContainerRunner;
  context: BuildContext;
  /** `--build-context NAME=DIR`, opened. */
  namedContexts?: ReadonlyMap<string, BuildContext>;
  /** `$TSBUILD_ROOT`, for persistent cache mounts. */
  root: string;
  /** Scratch dirs that live as long as the build session. */
  scratch: () => Promise<string>;
  secrets: ReadonlyMap<string, SecretSource>;
  ssh: ReadonlyMap<string, string>;
  progress: ProgressSink;
  /** Clamp file times in new layers and date history entries to this (seconds). */
  sourceDateEpoch?: number;
  /** How new layers are compressed (default gzip level 1). */
  compression?: CompressionSpec;
}

/** A built stage: its image config (with rootfs and history), the layers it names, and their diff dirs. */
export interface StageResult {
  config: ImageConfig;
  layers: Layer[];
  lowers: Lower[];
}

/** What a step leaves: a diff dir to stack under the next step (none if it changed nothing), and its layer once written. */
interface StepOutcome {
  lower: Lower | null;
  layer: Promise<Layer | null>;
}

const FAILURE_TAIL = 10;

/**
 * How many containers may run at once. RUN steps often wait (sleep, network)
 * rather than compute, so this is well above the core count: independent
 * stages should overlap, as BuildKit's do.
 */
const MAX_CONTAINERS = 16;

/** Layer tars written at once: each compresses on all cores already. */
const MAX_LAYER_WRITES = 2;

/**
 * Runs a plan: each stage's steps in order, independent stages at the same
 * time (a stage starts as soon as the stages it depends on are done). A step
 * whose cache key has a record is not run; a fully cached build mounts
 * nothing and starts no container.
 */
export class Executor {
  private readonly results = new Map<number, Promise<StageResult>>();
  private readonly containers = pLimit(MAX_CONTAINERS);
  private readonly layerWrites = pLimit(MAX_LAYER_WRITES);
  /** Read-only views of stages and images that steps read from, shared by every step and removed when the build ends. */
  private readonly views = new Map<string, Promise<ViewSnapshot>>();
  private nextId = 1;
  private aborted = false;

  constructor(
    private readonly plan: Plan,
    private readonly deps: ExecutorDeps,
  ) {}

  /**
   * Builds the target stage (and what it needs). On the first failure the
   * rest is stopped — running containers killed — and `run` rejects only once
   * every stage has cleaned up its mounts.
   */
  async run(): Promise<StageResult> {
    try {
      const result = await this.stage(this.plan.target);
      // a stage started for a step that then hit (another build recorded it meanwhile) must not outlive the build's mounts
      await Promise.allSettled(this.results.values());
      return result;
    } catch (e) {
      await this.abort();
      await Promise.allSettled(this.results.values());
      throw e;
    } finally {
      for (const view of await Promise.allSettled(this.views.values())) if (view.status === 'fulfilled') await view.value.remove();
    }
  }

  /** Stops the build: kills running containers; steps then fail and clean up after themselves. */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.deps.runner.killAll();
  }

  private stage(index: number): Promise<StageResult> {
    let p = this.results.get(index);
    if (!p) {
      p = this.buildStage(this.stagePlan(index));
      this.results.set(index, p);
    }
    return p;
  }

  private stagePlan(index: number): StagePlan {
    const s = this.plan.stages.find((st) => st.index === index);
    if (!s) throw new Error(`stage ${index} is not in the plan`);
    return s;
  }

  private async buildStage(stage: StagePlan): Promise<StageResult> {
    // start the stages this one reads from now, in parallel; not for a step that will hit (it reads nothing)
    for (const step of stage.steps) {
      const sources = sourceRoots(step.op).flatMap((r) => (r.kind === 'stage' ? [r.stage] : []));
      if (sources.length > 0) void this.deps.cache.willHit(step.key).then((hit) => hit || sources.forEach((s) => void this.stage(s).catch(() => undefined)), () => undefined);
    }
    const base = await this.baseOf(stage);
    const lowers = [...base.lowers];
    const outcomes: StepOutcome[] = [];
    try {
      for (const [i, step] of stage.steps.entries()) {
        const outcome = await this.step(step, lowers, stepLabel(stage, i));
        outcomes.push(outcome);
        if (outcome.lower) lowers.push(outcome.lower);
      }
    } finally {
      await Promise.allSettled(outcomes.map((o) => o.layer));
    }
    const produced = await Promise.all(outcomes.map((o) => o.layer));
    const layers = [...base.layers, ...produced.filter((l): l is Layer => l !== null)];
    const created = new Date((this.deps.sourceDateEpoch ?? 0) * 1000).toISOString();
    const history: HistoryEntry[] = [
      ...(base.config.history ?? []),
      ...stage.history.map(({ entry, step }) => ({
        created,
        ...entry,
        ...((step === undefined || produced[step] === null) && { empty_layer: true }),
      })),
    ];
    const config: ImageConfig = {
      created,
      architecture: this.plan.platform.architecture,
      os: this.plan.platform.os,
      ...(this.plan.platform.variant !== undefined && { variant: this.plan.platform.variant }),
      config: stage.config,
      ...(stage.author !== undefined && { author: stage.author }),
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history,
    };
    return { config, layers, lowers };
  }

  private async baseOf(stage: StagePlan): Promise<StageResult> {
    const b = stage.base;
    if (b.kind === 'stage') return this.stage(b.stage);
    if (b.kind === 'image') {
      return { config: b.image.config, layers: b.image.layers, lowers: b.image.layers.map((layer) => ({ id: DiffDirs.idOf(layer), layer })) };
    }
    const config: ImageConfig = { architecture: this.plan.platform.architecture, os: this.plan.platform.os, rootfs: { type: 'layers', diff_ids: [] } };
    return { config, layers: [], lowers: [] };
  }

  /**
   * Runs one step (or finds it in the cache). The step's diff dir is usable
   * by the next step as soon as its container exits; its layer tar is written
   * in the background and its cache record follows the tar. While the step
   * runs, its claim on the key makes other builds wanting it wait.
   */
  private async step(step: Step, lowers: readonly Lower[], name: string): Promise<StepOutcome> {
    const id = this.nextId++;
    const claim = await this.deps.cache.claim(step.key, () => this.deps.progress({ type: 'info', message: `${name}: waiting for another build running this step` }));
    if (claim.hit) {
      const hit = claim.hit;
      this.deps.progress({ type: 'step-cached', id, label: name });
      const lower = hit.layer ? { id: hit.snapshot ?? DiffDirs.idOf(hit.layer), layer: hit.layer } : null;
      return { lower, layer: Promise.resolve(hit.layer) };
    }
    try {
      return await this.runStep(step, lowers, id, name, claim);
    } catch (e) {
      await claim.release();
      throw e;
    }
  }

  private async runStep(step: Step, lowers: readonly Lower[], id: number, name: string, claim: StepClaim): Promise<StepOutcome> {
    if (this.aborted) throw new UserError('build interrupted');
    this.deps.progress({ type: 'step-start', id, label: name });
    const t0 = performance.now();
    const op = step.op;
    const mounts =
      op.op === 'run'
        ? await prepareRunMounts(op.mounts, op.files, { ...this.deps, bindSource: (m) => this.sourceDir(m.from) }, step.location)
        : undefined;
    const snap = await this.deps.snapshotter
      .prepare(op.op === 'copy' && op.link ? [] : lowers, { forContainer: op.op === 'run', ...(mounts && { stubs: mounts.stubs }) })
      .catch(async (e: unknown) => {
        await mounts?.release();
        throw e;
      });
    try {
      if (op.op === 'run') await this.runContainer(step, op, snap, id, mounts as NonNullable<typeof mounts>);
      else await this.apply(step, op, snap, lowers);
      await snap.unmount();
      await mounts?.release();
    } catch (e) {
      await mounts?.release();
      await snap.release(false);
      const exitCode = e instanceof RunFailed ? e.exitCode : undefined;
      this.deps.progress({ type: 'step-error', id, message: e instanceof UserError ? e.message : String(e), ...(exitCode !== undefined && { exitCode }) });
      throw e;
    }
    this.deps.progress({ type: 'step-done', id, seconds: (performance.now() - t0) / 1000 });
    if (readdirSync(snap.upper).length === 0) {
      await snap.release(false);
      await claim.commit({ key: step.key, layer: null });
      return { lower: null, layer: Promise.resolve(null) };
    }
    const layer = this.layerWrites(async () => {
      try {
        const written = await writeLayer(snap.upper, this.deps.store, this.layerOpts());
        await snap.release(true);
        await claim.commit({ key: step.key, layer: written, snapshot: snap.id });
        return written;
      } catch (e) {
        await snap.release(false);
        await claim.release();
        throw e;
      }
    });
    return { lower: { id: snap.id }, layer };
  }

  private layerOpts(): WriteLayerOptions {
    return {
      ...(this.deps.sourceDateEpoch !== undefined && { sourceDateEpoch: this.deps.sourceDateEpoch }),
      ...(this.deps.compression && { compression: this.deps.compression }),
    };
  }

  /** The host dir a `--from` (or a bind mount's `from`) names: the context, or a read-only view of a stage or image. */
  private async sourceDir(root: SourceRoot): Promise<string> {
    if (root.kind === 'context') return this.deps.context.dir;
    if (root.kind === 'named') return this.namedContext(root.name).dir;
    const key = root.kind === 'stage' ? `stage ${root.stage}` : root.image.manifest.digest;
    let view = this.views.get(key);
    if (!view) {
      view = (async () => {
        const lowers = root.kind === 'stage' ? (await this.stage(root.stage)).lowers : root.image.layers.map((layer) => ({ id: DiffDirs.idOf(layer), layer }));
        return this.deps.snapshotter.view(lowers);
      })();
      this.views.set(key, view);
    }
    return (await view).rootfs;
  }

  private namedContext(name: string): BuildContext {
    const c = this.deps.namedContexts?.get(name);
    if (!c) throw new Error(`named context ${name} is not open`);
    return c;
  }

  /** COPY/ADD and WORKDIR: file operations in the step's rootfs. */
  private async apply(step: Step, op: Exclude<StepOp, { op: 'run' }>, snap: ActiveSnapshot, lowers: readonly Lower[]): Promise<void> {
    if (op.op === 'mkdir') {
      const owner = op.user ? await resolveUser(snap.rootfs, op.user) : { uid: 0, gid: 0 };
      await mkdirScoped(snap.rootfs, op.path, owner);
      return;
    }
    // without --chown, context files become root's and files from a stage or image keep their owners, as BuildKit does
    const owner = op.chown
      ? await this.ownerFor(op.chown, op.link ? lowers : undefined, snap.rootfs, step)
      : op.from.kind === 'context' || op.from.kind === 'named'
        ? { uid: 0, gid: 0 }
        : undefined;
    const request = {
      rootfs: snap.rootfs,
      ...(snap.directUpper !== undefined && { upper: snap.directUpper }),
      dest: op.dest,
      ...(owner && { owner }),
      // a --link layer stands alone: the parents it creates are root's 0755, whoever owns the files
      ...(op.link && { parentsOwner: { uid: 0, gid: 0 } }),
      ...(op.chmod !== undefined && { chmod: parseChmod(op.chmod) }),
      extractArchives: op.add && op.unpack !== false,
      where: step.location,
    };
    if (op.sources.length > 0) {
      const srcRoot = await this.sourceDir(op.from);
      const from = op.from;
      const select = (sources: string[]): Promise<SelectedPath[]> =>
        from.kind === 'context'
          ? this.deps.context.select(sources, step.location)
          : from.kind === 'named'
            ? this.namedContext(from.name).select(sources, step.location)
            : selectSources(srcRoot, sources, step.location);
      const filter = (selection: SelectedPath[]): SelectedPath[] =>
        op.exclude.length > 0 ? applyExcludes(srcRoot, selection, op.exclude, step.location) : selection;
      if (!op.parents) {
        const selected = await select(op.sources);
        // only a directory's contents are written into the upper dir, where files can be linked; --no-cache wants fresh copies
        const upper = from.kind === 'context' && selected.some((s) => s.isDir) && !this.deps.cache.ignores(step.key) ? snap.directUpper : undefined;
        const reuse = upper !== undefined ? await this.copyReuse(step, op, upper, selected) : undefined;
        await copyIntoRootfs({ ...request, srcRoot, selection: filter(selected), ...(reuse && { reuse }) });
        await reuse?.save(snap.id);
      } else {
        for (const source of op.sources) {
          for (const sel of filter(await select([source]))) {
            await copyIntoRootfs({ ...request, srcRoot, selection: [sel], dest: parentsDestination(op.dest, source, sel) });
          }
        }
      }
    }
    if (op.urls.length > 0) {
      const dir = await this.deps.scratch();
      for (const u of op.urls) {
        const file = join(dir, u.name);
        await copyFile(this.deps.store.path(u.digest), file);
        await chmod(file, 0o600);
        if (u.mtime !== undefined) await utimes(file, u.mtime, u.mtime);
      }
      const selection = op.urls.map((u) => ({ rel: u.name, isDir: false }));
      const dest = op.urls.length + op.sources.length + op.inline.length > 1 && !op.dest.endsWith('/') ? `${op.dest}/` : op.dest;
      await copyIntoRootfs({ ...request, owner: owner ?? { uid: 0, gid: 0 }, dest, srcRoot: dir, selection, extractArchives: op.unpack === true });
    }
    if (op.inline.length > 0) {
      const dir = await this.deps.scratch();
      for (const f of op.inline) await writeFile(join(dir, f.name), f.content, { mode: 0o644 });
      const selection = op.inline.map((f) => ({ rel: f.name, isDir: false }));
      const dest = op.inline.length + op.sources.length > 1 && !op.dest.endsWith('/') ? `${op.dest}/` : op.dest;
      await copyIntoRootfs({ ...request, owner: owner ?? { uid: 0, gid: 0 }, dest, srcRoot: dir, selection, extractArchives: false });
    }
  }

  /**
   * The previous run of a COPY from the context (see copy-reuse.ts). The
   * selection is the one the plan digested (the context answers the same
   * sources with the same selection), so its files carry their sha256s;
   * one without is copied. Snapshots are siblings of the upper dir.
   */
  private async copyReuse(step: Step, op: Extract<StepOp, { op: 'copy' }>, upper: string, selection: SelectedPath[]): Promise<CopyReuse> {
    const context = this.deps.context;
    const entries = new Map(context.entriesOf(selection).map((e) => [e.rel, e]));
    const identity = { at: step.location, context: context.dir, sources: op.sources, dest: op.dest, chown: op.chown ?? null, chmod: op.chmod ?? null, exclude: op.exclude, link: op.link };
    return CopyReuse.open(this.deps.root, identity, (id) => posix.join(posix.dirname(upper), id), upper, { dir: context.dir, entryOf: (rel) => entries.get(rel) });
  }

  /** `--chown` ids, names looked up in the rootfs (for `--link`, in a view of the layers below, which the step does not mount). */
  private async ownerFor(spec: string, linkLowers: readonly Lower[] | undefined, rootfs: string, step: Step): Promise<{ uid: number; gid: number }> {
    if (/^\d+(:\d+)?$/.test(spec) || !linkLowers) {
      const u = await resolveUser(rootfs, spec).catch((e: unknown) => {
        throw e instanceof UserError ? new UserError(e.message, step.location) : e;
      });
      return { uid: u.uid, gid: u.gid };
    }
    const view = await this.deps.snapshotter.view(linkLowers);
    try {
      return await this.ownerFor(spec, undefined, view.rootfs, step);
    } finally {
      await view.remove();
    }
  }

  private async runContainer(step: Step, op: Extract<StepOp, { op: 'run' }>, snap: ActiveSnapshot, id: number, mounts: PreparedMounts): Promise<void> {
    if (this.aborted) throw new UserError('build interrupted');
    const user = await resolveUser(snap.rootfs, op.user || 'root:root').catch((e: unknown) => {
      if (op.user === '' && e instanceof UserError) return { uid: 0, gid: 0, additionalGids: [], home: '/root' };
      throw e instanceof UserError ? new UserError(e.message, step.location) : e;
    });
    await mkdirScoped(snap.rootfs, op.workdir, { uid: 0, gid: 0 });
    const env = [...(op.env.some((e) => e.startsWith('HOME=')) ? op.env : [...op.env, `HOME=${user.home}`]), ...mounts.env];
    const bundleDir = mounts.secretEnv ? await mkdtemp('/dev/shm/tsbuild-bundle-') : undefined;
    const tail: string[] = [];
    const code = await this.containers(() => this.deps.runner.run({
      rootfs: snap.rootfs,
      process: { args: op.args, env, cwd: op.workdir, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      network: op.network,
      mounts: mounts.mounts,
      ...(bundleDir !== undefined && { bundleDir }),
      onOutput: (line, stream) => {
        tail.push(line);
        if (tail.length > FAILURE_TAIL) tail.shift();
        this.deps.progress({ type: 'step-output', id, line, stream });
      },
    }));
    if (this.aborted) throw new UserError('build interrupted');
    if (code !== 0) {
      const shown = op.args.join(' ');
      const last = tail.length ? `; last output: ${tail.join(' | ')}` : '';
      throw new RunFailed(`RUN failed: "${shown}" exited with code ${code}${last}`, step.location, code);
    }
  }
}

/** A RUN whose command exited non-zero: the user's error, with the exit code for the progress display. */
class RunFailed extends UserError {
  constructor(
    message: string,
    location: SourceLocation,
    readonly exitCode: number,
  ) {
    super(message, location);
  }
}

/** The stages and images a step reads from. */
function sourceRoots(op: StepOp): SourceRoot[] {
  if (op.op === 'copy') return [op.from];
  if (op.op === 'run') return op.mounts.flatMap((m) => (m.type === 'bind' ? [m.from] : []));
  return [];
}

/** `mkdir -p` inside a rootfs; directories it creates get `owner`. */
async function mkdirScoped(rootfs: string, path: string, owner: { uid: number; gid: number }): Promise<void> {
  let current = '/';
  for (const part of path.split('/').filter(Boolean)) {
    current = posix.join(current, part);
    const host = await resolveScoped(rootfs, current);
    try {
      await mkdir(host, { mode: 0o755 });
      await lchown(host, owner.uid, owner.gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

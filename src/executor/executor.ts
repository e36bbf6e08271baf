import { lchown, mkdir, readdir } from 'node:fs/promises';
import pLimit from 'p-limit';
import { posix } from 'node:path';
import type { CacheStore } from '../cache/cache-store.ts';
import { selectSources } from '../context/select.ts';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import { writeLayer } from '../image/layer-writer.ts';
import type { HistoryEntry, ImageConfig, Layer } from '../image/oci.ts';
import type { Plan, StagePlan, Step } from '../planner/plan.ts';
import type { ProgressSink } from '../progress/events.ts';
import { copyIntoRootfs } from './copy.ts';
import type { RuncRunner } from './runc.ts';
import { DiffDirs, type Lower } from './diff-dirs.ts';
import { resolveScoped } from './scoped-path.ts';
import type { ActiveSnapshot, Snapshotter } from './snapshotter.ts';
import { resolveUser } from './users.ts';

export interface ExecutorDeps {
  store: BlobStore;
  cache: CacheStore;
  snapshotter: Snapshotter;
  runner: RuncRunner;
  contextDir: string;
  progress: ProgressSink;
  /** `--no-cache`: run every step, then record the results anyway. */
  noCache: boolean;
  /** Clamp file times in new layers and date history entries to this (seconds). */
  sourceDateEpoch?: number;
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
      return await this.stage(this.plan.target);
    } catch (e) {
      await this.abort();
      await Promise.allSettled(this.results.values());
      throw e;
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
    for (const step of stage.steps) {
      if (step.op.op === 'copy' && step.op.from.kind === 'stage') void this.stage(step.op.from.stage).catch(() => undefined);
    }
    const base = await this.baseOf(stage);
    const lowers = [...base.lowers];
    const outcomes: StepOutcome[] = [];
    const label = (i: number): string => `[${stage.name ?? `stage-${stage.index}`} ${i + 1}/${stage.steps.length}]`;
    try {
      for (const [i, step] of stage.steps.entries()) {
        const outcome = await this.step(step, lowers, label(i));
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
   * in the background and its cache record follows the tar.
   */
  private async step(step: Step, lowers: readonly Lower[], label: string): Promise<StepOutcome> {
    const id = this.nextId++;
    const name = `${label} ${step.name}`;
    if (!this.deps.noCache) {
      const hit = await this.deps.cache.get(step.key);
      if (hit) {
        this.deps.progress({ type: 'step-cached', id, label: name });
        const lower = hit.layer ? { id: hit.snapshot ?? DiffDirs.idOf(hit.layer), layer: hit.layer } : null;
        return { lower, layer: Promise.resolve(hit.layer) };
      }
    }
    if (this.aborted) throw new UserError('build interrupted');
    this.deps.progress({ type: 'step-start', id, label: name });
    const t0 = performance.now();
    const snap = await this.deps.snapshotter.prepare(lowers, { forContainer: step.op.op === 'run' });
    try {
      await this.apply(step, snap, id);
      await snap.unmount();
    } catch (e) {
      await snap.release(false);
      this.deps.progress({ type: 'step-error', id, message: e instanceof UserError ? e.message : String(e) });
      throw e;
    }
    this.deps.progress({ type: 'step-done', id, seconds: (performance.now() - t0) / 1000 });
    if ((await readdir(snap.upper)).length === 0) {
      await snap.release(false);
      await this.deps.cache.put({ key: step.key, layer: null });
      return { lower: null, layer: Promise.resolve(null) };
    }
    const layer = this.layerWrites(async () => {
      try {
        const written = await writeLayer(snap.upper, this.deps.store, this.epochOpts());
        await snap.release(true);
        await this.deps.cache.put({ key: step.key, layer: written, snapshot: snap.id });
        return written;
      } catch (e) {
        await snap.release(false);
        throw e;
      }
    });
    return { lower: { id: snap.id }, layer };
  }

  private epochOpts(): { sourceDateEpoch?: number } {
    return this.deps.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: this.deps.sourceDateEpoch };
  }

  private async apply(step: Step, snap: ActiveSnapshot, id: number): Promise<void> {
    const op = step.op;
    switch (op.op) {
      case 'mkdir': {
        const owner = op.user ? await resolveUser(snap.rootfs, op.user) : { uid: 0, gid: 0 };
        await mkdirScoped(snap.rootfs, op.path, owner);
        return;
      }
      case 'copy': {
        const owner = op.chown ? await resolveUser(snap.rootfs, op.chown) : { uid: 0, gid: 0 };
        const request = {
          rootfs: snap.rootfs,
          dest: op.dest,
          owner: { uid: owner.uid, gid: owner.gid },
          ...(op.chmod !== undefined && { mode: parseInt(op.chmod, 8) }),
          extractArchives: op.add,
          where: step.location,
        };
        if (op.from.kind === 'context') {
          const selection = await selectSources(this.deps.contextDir, op.sources, step.location);
          await copyIntoRootfs({ ...request, srcRoot: this.deps.contextDir, selection });
          return;
        }
        const from = await this.stage(op.from.stage);
        const view = await this.deps.snapshotter.view(from.lowers);
        try {
          const selection = await selectSources(view.rootfs, op.sources, step.location);
          await copyIntoRootfs({ ...request, srcRoot: view.rootfs, selection });
        } finally {
          await view.remove();
        }
        return;
      }
      case 'run':
        await this.runContainer(step, op, snap, id);
        return;
    }
  }

  private async runContainer(step: Step, op: Extract<Step['op'], { op: 'run' }>, snap: ActiveSnapshot, id: number): Promise<void> {
    if (this.aborted) throw new UserError('build interrupted');
    const user = await resolveUser(snap.rootfs, op.user || 'root:root').catch((e: unknown) => {
      if (op.user === '' && e instanceof UserError) return { uid: 0, gid: 0, additionalGids: [], home: '/root' };
      throw e instanceof UserError ? new UserError(e.message, step.location) : e;
    });
    await mkdirScoped(snap.rootfs, op.workdir, { uid: 0, gid: 0 });
    const env = op.env.some((e) => e.startsWith('HOME=')) ? op.env : [...op.env, `HOME=${user.home}`];
    const tail: string[] = [];
    const code = await this.containers(() => this.deps.runner.run({
      rootfs: snap.rootfs,
      process: { args: op.args, env, cwd: op.workdir, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      network: op.network,
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
      throw new UserError(`RUN failed: "${shown}" exited with code ${code}${last}`, step.location);
    }
  }
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

import type { BuildCache, RemoteRecords } from '../cache/build-cache.ts';
import type { CacheSource, CacheTarget } from '../cache/cache-spec.ts';
import type { CacheRecord } from '../cache/cache-store.ts';
import { describeCache, exportCache, importCache } from '../cache/remote-cache.ts';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { Plan, StagePlan } from '../planner/plan.ts';
import type { ProgressSink } from '../progress/events.ts';
import type { RegistrySession } from '../registry/session.ts';

/**
 * Reads every `--cache-from` source. One that cannot be read (not pushed
 * yet, unreachable) is a warning, as in BuildKit: the build goes on without it.
 */
export async function importCaches(sources: readonly CacheSource[], store: BlobStore, progress: ProgressSink, session: RegistrySession): Promise<RemoteRecords[]> {
  const out: RemoteRecords[] = [];
  for (const source of sources) {
    try {
      out.push(await importCache(source, store, session));
      progress({ type: 'info', message: `importing cache from ${describeCache(source)}` });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      progress({ type: 'warning', message: `cache from ${describeCache(source)} not used: ${e.message}` });
    }
  }
  return out;
}

/**
 * Writes the build's records to every `--cache-to` target: with `mode=min`
 * the steps of the result image (the target stage and the stages it is
 * built FROM), with `mode=max` every step of the build. Layers that only
 * an imported cache had are downloaded first.
 */
export async function exportCaches(
  targets: readonly CacheTarget[],
  plan: Plan,
  cache: BuildCache,
  store: BlobStore,
  progress: ProgressSink,
  session: RegistrySession,
): Promise<void> {
  for (const target of targets) {
    const where = describeCache(target);
    try {
      const records = await recordsOf(target.mode === 'max' ? plan.stages : resultStages(plan), cache);
      const layers = new Set(records.flatMap((r) => (r.layer ? [r.layer.descriptor.digest] : []))).size;
      progress({ type: 'info', message: `exporting cache to ${where} (mode=${target.mode}: ${records.length} steps, ${layers} layers)` });
      await exportCache(target, records, store, plan.platform, session);
    } catch (e) {
      if (!target.ignoreError || !(e instanceof UserError)) throw e;
      progress({ type: 'warning', message: `cache export to ${where} failed: ${e.message}` });
    }
  }
}

/** The target stage and the stages it is built FROM: the steps whose layers are in the image. */
function resultStages(plan: Plan): StagePlan[] {
  const out: StagePlan[] = [];
  for (let index: number | undefined = plan.target; index !== undefined; ) {
    const stage = plan.stages.find((s) => s.index === index);
    if (!stage) break;
    out.push(stage);
    index = stage.base.kind === 'stage' ? stage.base.stage : undefined;
  }
  return out;
}

async function recordsOf(stages: readonly StagePlan[], cache: BuildCache): Promise<CacheRecord[]> {
  const out = new Map<string, CacheRecord>();
  for (const stage of stages) {
    for (const step of stage.steps) {
      if (out.has(step.key)) continue;
      const record = await cache.lookup(step.key);
      if (!record) continue;
      if (record.layer) await cache.ensureBlob(record.layer);
      out.set(step.key, { key: record.key, layer: record.layer });
    }
  }
  return [...out.values()];
}

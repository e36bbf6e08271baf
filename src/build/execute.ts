import type { BuildCache } from '../cache/build-cache.ts';
import type { BuildContext } from '../context/build-context.ts';
import { DiffDirs } from '../executor/diff-dirs.ts';
import { Executor, type StageResult } from '../executor/executor.ts';
import { ContainerRunner } from '../executor/container-runner.ts';
import type { SecretSource } from '../executor/run-mounts.ts';
import type { RuntimeChoice } from '../executor/oci-runtime.ts';
import type { BuildSession } from '../executor/session.ts';
import { chooseSnapshotter, type SnapshotterChoice } from '../executor/choose-snapshotter.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { CompressionSpec } from '../image/compression.ts';
import type { Plan } from '../planner/plan.ts';
import { UserError } from '../errors.ts';
import type { ProgressSink } from '../progress/events.ts';

export interface ExecuteOptions {
  root: string;
  /** The build's session: its scratch dir holds every mount and bundle of this build. */
  session: BuildSession;
  /** The OCI runtime: `runc`, `crun`, or `auto` (the fastest that works here). */
  runtime: RuntimeChoice;
  store: BlobStore;
  cache: BuildCache;
  context: BuildContext;
  /** `--build-context NAME=DIR`, opened. */
  namedContexts?: ReadonlyMap<string, BuildContext>;
  secrets: ReadonlyMap<string, SecretSource>;
  ssh: ReadonlyMap<string, string>;
  progress: ProgressSink;
  sourceDateEpoch?: number;
  /** How new layers are compressed (default gzip level 1). */
  compression?: CompressionSpec;
  /** Receives the function that stops the build (kill containers; steps then unmount) when the caller is interrupted. */
  onAbortable?: (abort: () => Promise<void>) => void;
  /** `overlay`, `copy`, or `auto` (overlay where it can be mounted); default `$TSBUILD_SNAPSHOTTER`, else auto. */
  snapshotter?: SnapshotterChoice;
}

function snapshotterFromEnv(): SnapshotterChoice {
  const v = process.env.TSBUILD_SNAPSHOTTER ?? 'auto';
  if (v !== 'auto' && v !== 'overlay' && v !== 'copy') throw new UserError(`TSBUILD_SNAPSHOTTER=${v}: expected auto, overlay or copy`);
  return v;
}

/** Runs a plan in the build's session; every mount it made is gone when this returns, whether it succeeded or not. */
export async function executePlan(plan: Plan, opts: ExecuteOptions): Promise<StageResult> {
  const scratch = (): Promise<string> => opts.session.scratchDir();
  const executor = new Executor(plan, {
    store: opts.store,
    cache: opts.cache,
    snapshotter: chooseSnapshotter(
      opts.snapshotter ?? snapshotterFromEnv(),
      new DiffDirs(opts.root, opts.store, scratch, (layer) => opts.cache.ensureBlob(layer)),
      scratch,
      opts.progress,
    ),
    runner: new ContainerRunner(opts.session, opts.root, opts.runtime),
    context: opts.context,
    ...(opts.namedContexts && { namedContexts: opts.namedContexts }),
    root: opts.root,
    scratch,
    secrets: opts.secrets,
    ssh: opts.ssh,
    progress: opts.progress,
    ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
    ...(opts.compression && { compression: opts.compression }),
  });
  opts.onAbortable?.(() => executor.abort());
  return executor.run();
}

import { CacheStore } from '../cache/cache-store.ts';
import type { BuildContext } from '../context/build-context.ts';
import { DiffDirs } from '../executor/diff-dirs.ts';
import { Executor, type StageResult } from '../executor/executor.ts';
import { RuncRunner } from '../executor/runc.ts';
import type { SecretSource } from '../executor/run-mounts.ts';
import { BuildSession, runtimeState } from '../executor/session.ts';
import { OverlaySnapshotter } from '../executor/snapshotter.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { CompressionSpec } from '../image/compression.ts';
import type { Plan } from '../planner/plan.ts';
import type { ProgressSink } from '../progress/events.ts';

export interface ExecuteOptions {
  root: string;
  store: BlobStore;
  context: BuildContext;
  secrets: ReadonlyMap<string, SecretSource>;
  ssh: ReadonlyMap<string, string>;
  progress: ProgressSink;
  noCache: boolean;
  sourceDateEpoch?: number;
  /** How new layers are compressed (default gzip level 6). */
  compression?: CompressionSpec;
  /** Receives the function that stops the build (kill containers; steps then unmount) when the caller is interrupted. */
  onAbortable?: (abort: () => Promise<void>) => void;
}

const RUNTIME = 'runc';

/**
 * Runs a plan inside a build session: the session's scratch dir holds every
 * mount and bundle of this build, and is gone when this returns, whether the
 * build succeeded or not.
 */
export async function executePlan(plan: Plan, opts: ExecuteOptions): Promise<StageResult> {
  const session = await BuildSession.open(opts.root, RUNTIME);
  try {
    const scratch = (): Promise<string> => session.scratchDir();
    const executor = new Executor(plan, {
      store: opts.store,
      cache: new CacheStore(opts.root, opts.store),
      snapshotter: new OverlaySnapshotter(new DiffDirs(opts.root, opts.store, scratch), scratch),
      runner: new RuncRunner(session, runtimeState(opts.root), RUNTIME),
      context: opts.context,
      root: opts.root,
      scratch,
      secrets: opts.secrets,
      ssh: opts.ssh,
      progress: opts.progress,
      noCache: opts.noCache,
      ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
      ...(opts.compression && { compression: opts.compression }),
    });
    opts.onAbortable?.(() => executor.abort());
    return await executor.run();
  } finally {
    await session.close();
  }
}

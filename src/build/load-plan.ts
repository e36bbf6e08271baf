import { readFile } from 'node:fs/promises';
import { BuildContext } from '../context/build-context.ts';
import type { NetworkMode } from '../executor/runtime-spec.ts';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { ImageStore } from '../image/image-store.ts';
import type { Platform } from '../image/oci.ts';
import type { Plan } from '../planner/plan.ts';
import { planBuild } from '../planner/planner.ts';
import type { ProgressSink } from '../progress/events.ts';
import { hostPlatform } from '../platform.ts';
import type { ImageResolver } from './named-contexts.ts';
import { fetchUrl } from './fetch-url.ts';
import { imageResolver } from './resolve-image.ts';
import { parseDockerfileCached } from './parse-cache.ts';

export interface LoadPlanOptions {
  contextDir: string;
  /** `$TSBUILD_ROOT`, where the context's stat cache persists. */
  root: string;
  /** Default `<context>/Dockerfile`. */
  dockerfile?: string;
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  platform?: Platform;
  store: BlobStore;
  images: ImageStore;
  progress: ProgressSink;
  /** How FROM and `COPY --from` images are found; default `imageResolver` (local store, then registry). */
  resolveImage?: ImageResolver;
  /** `--network`: the network of RUN steps that do not say. */
  defaultNetwork?: NetworkMode;
  /** `--build-context NAME=DIR`, opened. */
  namedContexts?: ReadonlyMap<string, BuildContext>;
  /** `SOURCE_DATE_EPOCH`, an input of every step when set. */
  sourceDateEpoch?: number;
}

/** A planned build, with the context it read (still open) and what the cache history needs. */
export interface LoadedPlan {
  plan: Plan;
  context: BuildContext;
  /** The Dockerfile's absolute path. */
  dockerfile: string;
  /** Every stage name of the Dockerfile, lower case. */
  stageNames: string[];
  /** The Dockerfile's text, as planned. */
  text: string;
}

/**
 * Reads the Dockerfile and plans the build: what `tsbuild build` executes
 * and `tsbuild plan` prints. Base images are resolved (and pulled when
 * missing) because their digests are part of every key; nothing is run.
 * The caller closes the returned context (it saves the stat cache).
 */
export async function loadPlan(opts: LoadPlanOptions): Promise<LoadedPlan> {
  const contextDir = resolve(opts.contextDir);
  const dockerfilePath = resolve(opts.dockerfile ?? join(contextDir, 'Dockerfile'));
  const text = await readFile(dockerfilePath, 'utf8').catch(() => {
    throw new UserError(`cannot read Dockerfile ${dockerfilePath}`);
  });
  const ast = await parseDockerfileCached(opts.root, text, opts.dockerfile ?? 'Dockerfile');
  const platform = opts.platform ?? hostPlatform();
  const context = await BuildContext.open(contextDir, { dockerfile: dockerfilePath, root: opts.root });
  try {
    const plan = await planBuild(ast, {
      buildArgs: opts.buildArgs,
      ...(opts.target !== undefined && { target: opts.target }),
      platform,
      context,
      resolveImage: opts.resolveImage ?? imageResolver(opts.store, opts.images, platform, opts.progress),
      fetchUrl: (url, checksum) => fetchUrl(opts.store, url, checksum),
      ...(opts.defaultNetwork !== undefined && { defaultNetwork: opts.defaultNetwork }),
      ...(opts.namedContexts && { namedContexts: opts.namedContexts }),
      ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
    });
    for (const warning of plan.warnings) opts.progress({ type: 'info', message: `warning: ${warning}` });
    const stageNames = ast.instructions.flatMap((i) => (i.kind === 'FROM' && i.stageName ? [i.stageName.value.toLowerCase()] : []));
    return { plan, context, dockerfile: dockerfilePath, stageNames, text };
  } catch (e) {
    await context.close();
    throw e;
  }
}

import { join } from 'node:path';
import { BlobStore } from '../image/blob-store.ts';
import { ImageStore } from '../image/image-store.ts';
import type { CompressionSpec } from '../image/compression.ts';
import { storeImage } from '../image/image-writer.ts';
import type { Descriptor, Platform } from '../image/oci.ts';
import { formatReference, parseReference } from '../image/reference.ts';
import type { ProgressSink } from '../progress/events.ts';
import type { SecretSource } from '../executor/run-mounts.ts';
import { executePlan } from './execute.ts';
import { exportOutputs, type OutputSpec } from './export.ts';
import { loadPlan } from './load-plan.ts';

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
  /** `-o/--output` exporters (see export.ts). */
  outputs: OutputSpec[];
  /**
   * `--compression`/`--compression-level`: new layers are written with it,
   * and layers of another algorithm (base image, cache hits) are converted
   * (default: new layers gzip level 6, others kept as they are).
   */
  compression?: CompressionSpec;
  sourceDateEpoch?: number;
  platform?: Platform;
  /** `--secret`: values RUN `--mount=type=secret` can read; never stored anywhere. */
  secrets?: ReadonlyMap<string, SecretSource>;
  /** `--ssh`: agent sockets by id. */
  ssh?: ReadonlyMap<string, string>;
  progress: ProgressSink;
  /** Receives the function that stops the build (kill containers; steps then unmount) when the caller is interrupted. */
  onAbortable?: (abort: () => Promise<void>) => void;
}

export interface BuildResult {
  manifest: Descriptor;
  config: Descriptor;
}

/**
 * One `tsbuild build`: parse, plan, execute, then store the image, name it
 * and export it. The library entry point; the CLI only maps flags onto it.
 */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const tags = opts.tags.map(parseReference);
  const store = new BlobStore(join(opts.root, 'blobs'));
  const images = new ImageStore(join(opts.root, 'images'));
  const { plan, context } = await loadPlan({
    contextDir: opts.contextDir,
    root: opts.root,
    ...(opts.dockerfile !== undefined && { dockerfile: opts.dockerfile }),
    buildArgs: opts.buildArgs,
    ...(opts.target !== undefined && { target: opts.target }),
    ...(opts.platform !== undefined && { platform: opts.platform }),
    store,
    images,
    progress: opts.progress,
  });

  const result = await executePlan(plan, {
    root: opts.root,
    store,
    context,
    secrets: opts.secrets ?? new Map(),
    ssh: opts.ssh ?? new Map(),
    progress: opts.progress,
    noCache: opts.noCache,
    ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
    ...(opts.compression && { compression: opts.compression }),
    ...(opts.onAbortable && { onAbortable: opts.onAbortable }),
  }).finally(() => context.close());

  const stored = await storeImage(store, result.config, result.layers, opts.compression ? { compression: opts.compression } : {});
  opts.progress({ type: 'info', message: `writing image ${stored.config.digest}` });
  opts.progress({ type: 'info', message: `manifest ${stored.manifest.digest}` });
  for (const ref of tags) {
    await images.tag(ref, stored.manifest);
    opts.progress({ type: 'info', message: `naming to ${formatReference(ref)}` });
  }
  await exportOutputs(opts.outputs, {
    store,
    manifest: stored.manifest,
    tags,
    root: opts.root,
    progress: opts.progress,
    ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
  });
  return stored;
}

import { join } from 'node:path';
import { BlobStore } from '../image/blob-store.ts';
import { ImageStore } from '../image/image-store.ts';
import { storeImage } from '../image/image-writer.ts';
import type { Descriptor, Platform } from '../image/oci.ts';
import { exportOciLayout } from '../image/oci-layout.ts';
import { formatReference, parseReference } from '../image/reference.ts';
import type { ProgressSink } from '../progress/events.ts';
import { executePlan } from './execute.ts';
import { loadPlan } from './load-plan.ts';

export interface OciOutput {
  type: 'oci';
  dest: string;
}

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
  outputs: OciOutput[];
  sourceDateEpoch?: number;
  platform?: Platform;
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
  const { plan, contextDir } = await loadPlan({
    contextDir: opts.contextDir,
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
    contextDir,
    progress: opts.progress,
    noCache: opts.noCache,
    ...(opts.sourceDateEpoch !== undefined && { sourceDateEpoch: opts.sourceDateEpoch }),
    ...(opts.onAbortable && { onAbortable: opts.onAbortable }),
  });

  const stored = await storeImage(store, result.config, result.layers);
  opts.progress({ type: 'info', message: `writing image ${stored.config.digest}` });
  opts.progress({ type: 'info', message: `manifest ${stored.manifest.digest}` });
  for (const ref of tags) {
    await images.tag(ref, stored.manifest);
    opts.progress({ type: 'info', message: `naming to ${formatReference(ref)}` });
  }
  for (const out of opts.outputs) {
    const firstTag = tags[0];
    await exportOciLayout(store, stored.manifest, out.dest, firstTag ? { name: formatReference(firstTag) } : {});
    opts.progress({ type: 'info', message: `exported OCI layout to ${out.dest}` });
  }
  return stored;
}

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { BlobStore } from '../image/blob-store.ts';
import { ImageStore } from '../image/image-store.ts';
import { storeImage } from '../image/image-writer.ts';
import type { Descriptor, Platform } from '../image/oci.ts';
import { exportOciLayout } from '../image/oci-layout.ts';
import { formatReference, parseReference } from '../image/reference.ts';
import { parseDockerfile } from '../parser/parse.ts';
import { planBuild } from '../planner/planner.ts';
import type { ProgressSink } from '../progress/events.ts';
import { hostPlatform } from '../platform.ts';
import { executePlan } from './execute.ts';
import { imageResolver } from './resolve-image.ts';

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
  const contextDir = resolve(opts.contextDir);
  if (!(await stat(contextDir).then((s) => s.isDirectory(), () => false))) {
    throw new UserError(`build context ${opts.contextDir} is not a directory`);
  }
  const dockerfilePath = resolve(opts.dockerfile ?? join(contextDir, 'Dockerfile'));
  const text = await readFile(dockerfilePath, 'utf8').catch(() => {
    throw new UserError(`cannot read Dockerfile ${dockerfilePath}`);
  });
  const ast = parseDockerfile(text, opts.dockerfile ?? 'Dockerfile');
  const tags = opts.tags.map(parseReference);

  const store = new BlobStore(join(opts.root, 'blobs'));
  const images = new ImageStore(join(opts.root, 'images'));
  const platform = opts.platform ?? hostPlatform();
  const plan = await planBuild(ast, {
    buildArgs: opts.buildArgs,
    ...(opts.target !== undefined && { target: opts.target }),
    platform,
    contextDir,
    resolveImage: imageResolver(store, images, platform, opts.progress),
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

/**
 * Shared by the cache tests: a busybox base imported into a root, and
 * builds run through the library with their progress events collected.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build, type BuildOptions } from '../src/build/build.ts';
import { BlobStore } from '../src/image/blob-store.ts';
import { ImageStore } from '../src/image/image-store.ts';
import { importOciLayout } from '../src/image/oci-layout.ts';
import { parseReference } from '../src/image/reference.ts';
import type { ProgressEvent } from '../src/progress/events.ts';
import { BASE_TAG, makeBusyboxLayout } from './helpers/base-image.ts';

export const BASE = 'tsbuild.test/busybox:1.35';

/** Imports the busybox base (built once per `work` dir) into `root` as `name`. */
export async function importBase(root: string, work: string, name = BASE): Promise<void> {
  const store = new BlobStore(join(root, 'blobs'));
  const manifest = await importOciLayout(await makeBusyboxLayout(join(work, 'base')), store, BASE_TAG);
  await new ImageStore(join(root, 'images')).tag(parseReference(name), manifest);
}

/** Writes files (path → content) under `dir`. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

export interface Built {
  digest: string;
  /** Labels of the steps that ran, and of those that came from the cache. */
  ran: string[];
  cached: string[];
  /** `--explain` lines, without their `cache miss: ` prefix. */
  misses: string[];
  events: ProgressEvent[];
}

/** One build of `context` into `root` through the library (same as the CLI's, without its flag parsing). */
export async function runBuild(root: string, context: string, opts: Partial<BuildOptions> = {}): Promise<Built> {
  const events: ProgressEvent[] = [];
  const r = await build({ contextDir: context, root, tags: [], buildArgs: new Map(), noCache: false, outputs: [], explain: true, gc: false, progress: (e) => events.push(e), ...opts });
  const labels = (type: string): string[] => events.flatMap((e) => (e.type === type && 'label' in e ? [e.label] : []));
  const misses = events.flatMap((e) => (e.type === 'info' && e.message.startsWith('cache miss: ') ? [e.message.slice('cache miss: '.length)] : []));
  return { digest: r.manifest.digest, ran: labels('step-start'), cached: labels('step-cached'), misses, events };
}

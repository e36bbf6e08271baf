/**
 * The `-o/--output` exporters for a built image, with BuildKit's semantics:
 *
 * - `local`: the final filesystem as the directory `dest`;
 * - `tar`: the final filesystem as a tar file (or stdout with `dest=-`);
 * - `oci`: an OCI image layout, as a tar (default; stdout with `dest=-`) or a
 *   directory (`tar=false`);
 * - `docker`: the same layout plus docker-archive's `manifest.json`, one tar
 *   that `docker load`, `skopeo docker-archive:` and OCI tools all read.
 *
 * `oci` and `docker` name the image with `names`, defaulting to the `-t`
 * names. Files and directories are written under a temp name next to `dest`
 * and renamed into place when complete, so a failed export leaves nothing
 * half-written. A tar is never written to a terminal, and only one output
 * may use stdout.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import { readImage } from '../image/image-reader.ts';
import type { Descriptor } from '../image/oci.ts';
import { exportOciLayout, ociLayoutTar } from '../image/oci-layout.ts';
import { formatReference, type Reference } from '../image/reference.ts';
import { exportRootfs, rootfsTar } from '../image/rootfs.ts';
import type { ProgressSink } from '../progress/events.ts';

/** One parsed `--output` (see `src/cli/output-spec.ts` for the syntax). */
export type OutputSpec =
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string }
  | { type: 'oci' | 'docker'; dest: string; tar: boolean; names?: string[] };

export interface ExportContext {
  store: BlobStore;
  /** The built image's manifest. */
  manifest: Descriptor;
  /** The `-t` names: the default `names` of oci/docker outputs. */
  tags: readonly Reference[];
  /** `$TSBUILD_ROOT`; scratch space goes under `tmp/`. */
  root: string;
  sourceDateEpoch?: number;
  progress: ProgressSink;
  /** Where `dest=-` writes; default process.stdout. */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Performs every output in order. */
export async function exportOutputs(outputs: readonly OutputSpec[], ctx: ExportContext): Promise<void> {
  const toStdout = outputs.filter((o) => o.dest === '-');
  if (toStdout.length > 1) throw new UserError('only one --output may write to stdout (dest=-)');
  const stdout = ctx.stdout ?? process.stdout;
  if (toStdout.length > 0 && stdout.isTTY) {
    throw new UserError('refusing to write a tar to the terminal: redirect stdout or give dest=FILE');
  }
  for (const out of outputs) {
    await exportOne(out, ctx, stdout);
    ctx.progress({ type: 'info', message: `exported ${describe(out)} to ${out.dest === '-' ? 'stdout' : out.dest}` });
  }
}

function describe(out: OutputSpec): string {
  if (out.type === 'local') return 'the filesystem';
  if (out.type === 'tar') return 'the filesystem as a tar';
  return `${out.type === 'oci' ? 'an OCI' : 'a docker'} image ${out.tar ? 'tar' : 'layout'}`;
}

async function exportOne(out: OutputSpec, ctx: ExportContext, stdout: NodeJS.WritableStream): Promise<void> {
  const write = (chunks: AsyncIterable<Buffer>): Promise<void> =>
    out.dest === '-' ? writeStdout(chunks, stdout) : writeFileAtomic(out.dest, chunks);
  switch (out.type) {
    case 'local':
      return exportRootfs(ctx.store, (await readImage(ctx.store, ctx.manifest)).layers, out.dest);
    case 'tar': {
      const { layers } = await readImage(ctx.store, ctx.manifest);
      const epoch = ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {};
      return write(rootfsTar(ctx.store, layers, join(ctx.root, 'tmp'), epoch));
    }
    case 'oci':
    case 'docker': {
      const opts = { names: out.names ?? ctx.tags.map(formatReference), docker: out.type === 'docker' };
      if (!out.tar) return exportOciLayout(ctx.store, ctx.manifest, out.dest, opts);
      return write(await ociLayoutTar(ctx.store, ctx.manifest, { ...opts, mtime: ctx.sourceDateEpoch ?? 0 }));
    }
  }
}

/** Streams into a temp file next to `dest`, renamed to `dest` once complete. */
async function writeFileAtomic(dest: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  const target = resolve(dest);
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(chunks, createWriteStream(tmp));
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes to stdout with backpressure, leaving it open. */
async function writeStdout(chunks: AsyncIterable<Buffer>, stdout: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of chunks) {
    if (!stdout.write(chunk)) await once(stdout, 'drain');
  }
}

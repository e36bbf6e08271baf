/**
 * Layer compression: which algorithms exist, their levels, media types and
 * streaming compressors.
 *
 * - `gzip` (default, level 1): `parallelGzip`, one gzip member made on every
 *   core; levels 0–9.
 * - `zstd` (default level 3): the `zstd-napi` binding, loaded only when asked
 *   for; levels 0–22 (0: the default); media type `tar+zstd`.
 * - `none`: the plain tar; no level.
 *
 * `compressor(spec)` returns a function from plain chunks to compressed
 * chunks; the output depends only on the input bytes and the spec, so layers
 * stay reproducible.
 */
import { Readable } from 'node:stream';
import { UserError } from '../errors.ts';
import { MediaType } from './oci.ts';
import { parallelGzip } from './parallel-gzip.ts';

/** A layer compression algorithm, as `--compression` names it. */
export type Compression = 'gzip' | 'zstd' | 'none';

const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd', 'none'];

/** An algorithm and, optionally, its level. */
export interface CompressionSpec {
  compression: Compression;
  /** Algorithm-specific; the algorithm's default when absent. */
  level?: number;
}

const LEVELS: Record<Compression, { min: number; max: number; default?: number }> = {
  // level 1, not zlib's 6: 2-3x faster, for layers 1-3% bigger (a tar of
  // source files, of text, of binaries), and compressing is most of the CPU
  // a build with big layers spends; --compression-level 6 gets the other
  gzip: { min: 0, max: 9, default: 1 },
  zstd: { min: 0, max: 22, default: 3 },
  none: { min: 0, max: 0 },
};

/** Checks a user-given algorithm name and level (e.g. from `--compression`), with a one-line error. */
export function parseCompression(name: string, level?: number): CompressionSpec {
  if (!(COMPRESSIONS as readonly string[]).includes(name)) {
    throw new UserError(`unknown compression ${JSON.stringify(name)}: expected ${COMPRESSIONS.join(', ')}`);
  }
  const compression = name as Compression;
  if (level === undefined) return { compression };
  const range = LEVELS[compression];
  if (compression === 'none') throw new UserError('compression none takes no level');
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw new UserError(`invalid ${compression} compression level ${level}: expected ${range.min} to ${range.max}`);
  }
  return { compression, level };
}

/** The OCI layer media type for a compression. */
export function layerMediaType(compression: Compression): string {
  return compression === 'gzip' ? MediaType.layerGzip : compression === 'zstd' ? MediaType.layerZstd : MediaType.layerTar;
}

/** A streaming compressor for `spec`. */
export function compressor(spec: CompressionSpec): (plain: AsyncIterable<Buffer>) => AsyncIterable<Buffer> {
  const level = spec.level ?? LEVELS[spec.compression].default;
  switch (spec.compression) {
    case 'gzip':
      return (plain) => parallelGzip(plain, { ...(level !== undefined && { level }) });
    case 'zstd':
      return (plain) => zstdCompress(plain, level ?? 3);
    case 'none':
      return (plain) => plain;
  }
}

type ZstdModule = typeof import('zstd-napi');

/** The zstd binding, loaded on first use so that gzip-only runs never pay for (or depend on) it. */
export async function loadZstd(): Promise<ZstdModule> {
  try {
    return await import('zstd-napi');
  } catch (e) {
    throw new UserError(`zstd is unavailable: the zstd-napi package did not load (${(e as Error).message.split('\n')[0]})`);
  }
}

async function* zstdCompress(plain: AsyncIterable<Buffer>, level: number): AsyncGenerator<Buffer> {
  const { CompressStream } = await loadZstd();
  const stream = new CompressStream({ compressionLevel: level });
  const input = Readable.from(plain, { objectMode: false });
  input.on('error', (e) => stream.destroy(e));
  input.pipe(stream);
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } finally {
    input.destroy();
    stream.destroy();
  }
}

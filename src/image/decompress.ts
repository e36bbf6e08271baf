/**
 * `decompressed(source)`: the plain bytes of a possibly compressed stream,
 * recognised by its magic bytes rather than by a media type (Docker layers,
 * `ADD` archives and `docker save` output all mislabel now and then).
 *
 * gzip is inflated (concatenated members included) and zstd decoded (with
 * the zstd-napi binding, loaded on first use); bzip2 and xz, which Node has
 * no decoder for, go through Debian's `bzip2` and `xz` programs; anything
 * without a known magic is passed through as plain tar.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UserError } from '../errors.ts';
import { loadZstd } from './compression.ts';

/** Formats decoded by an external program: name, magic, program. */
const EXTERNAL: [string, number[], string][] = [
  ['bzip2', [0x42, 0x5a, 0x68], 'bzip2'],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
];
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(head: Buffer, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
}

export async function* decompressed(source: AsyncIterable<Buffer | string> | NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  const it = (source as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 6) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    head.push(chunk);
    headLength += chunk.length;
  }
  const first = Buffer.concat(head);
  const replay = async function* (): AsyncGenerator<Buffer> {
    yield first;
    if (ended) return;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  };
  const external = EXTERNAL.find(([, magic]) => startsWith(first, magic));
  if (external) {
    yield* throughProgram(replay(), external[2], external[0]);
  } else if (startsWith(first, GZIP_MAGIC)) {
    yield* through(replay(), createGunzip({ chunkSize: 256 * 1024 }), 'gzip');
  } else if (startsWith(first, ZSTD_MAGIC)) {
    const { DecompressStream } = await loadZstd();
    yield* through(replay(), new DecompressStream(), 'zstd');
  } else {
    yield* replay();
  }
}

/** `source` piped through a decoding Transform; decoder errors become UserErrors. */
async function* through(source: AsyncIterable<Buffer>, decoder: NodeJS.ReadWriteStream & { destroy(e?: Error): void }, name: string): AsyncGenerator<Buffer> {
  const input = Readable.from(source);
  input.on('error', (e) => decoder.destroy(e));
  input.pipe(decoder);
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!(e instanceof UserError) && (code?.startsWith('Z_') || (name === 'zstd' && !code))) {
      throw new UserError(`archive is not valid ${name}: ${(e as Error).message}`);
    }
    throw e;
  } finally {
    input.destroy();
    decoder.destroy();
  }
}

/** `source` decoded by `program -dc`; a failure (bad data, program missing) is a UserError. */
async function* throughProgram(source: AsyncIterable<Buffer>, program: string, name: string): AsyncGenerator<Buffer> {
  const child = spawn(program, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number>((ok) => {
    child.on('error', () => ok(-1));
    child.on('close', (code) => ok(code ?? 1));
  });
  const input = Readable.from(source);
  input.on('error', () => child.kill());
  child.stdin.on('error', () => undefined);
  input.pipe(child.stdin);
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await exited;
    if (code === -1) throw new UserError(`${name} archives need the ${program} program (apt-get install ${program === 'xz' ? 'xz-utils' : program})`);
    if (code !== 0) throw new UserError(`archive is not valid ${name}: ${stderr.trim().split('\n')[0] ?? ''}`);
  } finally {
    input.destroy();
    child.kill();
  }
}

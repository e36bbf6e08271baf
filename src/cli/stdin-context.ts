/**
 * `-` as the build context, as `docker build -` reads it: when stdin holds a
 * tar (plain, gzip or zstd), that tar is the context and its `Dockerfile`
 * (or the `-f` path inside it) is used; anything else is the Dockerfile
 * itself, with an empty context. And `-f -`: the Dockerfile from stdin, the
 * context from its directory.
 *
 * Stdin is unpacked into a scratch dir under `$TSBUILD_ROOT/tmp`, removed
 * when the build ends. A context tar is unpacked as an image layer would
 * be, so `.wh.` entries in it delete files, as in a layer.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '../errors.ts';

export interface StdinInput {
  /** The context dir (for `-`), or the Dockerfile's path (for `-f -`). */
  path: string;
  /** For `-`: the Dockerfile in the context, when it came from a tar and `-f` named one. */
  dockerfile?: string;
  cleanup(): Promise<void>;
}

/** What a tar or a compressed stream starts with; a Dockerfile starts with none of these. */
const MAGIC: number[][] = [
  [0x1f, 0x8b], // gzip
  [0x28, 0xb5, 0x2f, 0xfd], // zstd
  [0x42, 0x5a, 0x68], // bzip2 (refused when unpacked, with a clear error)
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], // xz (same)
];
const USTAR_OFFSET = 257;

/** `-` as the context. `fileInContext` is the `-f` value, a path inside a context tar. */
export async function contextFromStdin(stdin: NodeJS.ReadableStream, root: string, fileInContext?: string): Promise<StdinInput> {
  const dir = await scratchDir(root);
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const { head, rest } = await peek(stdin, 512);
    if (isArchive(head)) {
      const { applyLayer } = await import('../image/layer-apply.ts');
      await applyLayer(Readable.from(rest), dir, { whiteouts: 'extract' }).catch((e: unknown) => {
        throw e instanceof UserError ? new UserError(`the context tar on stdin: ${e.message}`) : e;
      });
      return { path: dir, ...(fileInContext !== undefined && { dockerfile: join(dir, fileInContext) }), cleanup };
    }
    if (fileInContext !== undefined) throw new UserError('-f names a Dockerfile inside a context tar, but stdin is not a tar (it is taken as the Dockerfile itself)');
    await writeFile(join(dir, 'Dockerfile'), await collect(rest));
    return { path: dir, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** `-f -`: the Dockerfile from stdin. */
export async function dockerfileFromStdin(stdin: NodeJS.ReadableStream, root: string): Promise<StdinInput> {
  const dir = await scratchDir(root);
  const path = join(dir, 'Dockerfile');
  await writeFile(path, await collect(stdin as AsyncIterable<Buffer>));
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function scratchDir(root: string): Promise<string> {
  await mkdir(join(root, 'tmp'), { recursive: true });
  return mkdtemp(join(root, 'tmp', 'stdin-'));
}

function isArchive(head: Buffer): boolean {
  if (MAGIC.some((m) => m.every((byte, i) => head[i] === byte))) return true;
  return head.subarray(USTAR_OFFSET, USTAR_OFFSET + 5).toString('latin1') === 'ustar';
}

/** The first `n` bytes (fewer if the stream is shorter), and the whole stream again from its start. */
async function peek(stream: NodeJS.ReadableStream, n: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    seen.push(chunk);
    length += chunk.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* seen;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }
  return { head: Buffer.concat(seen), rest: rest() };
}

async function collect(chunks: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const all: Buffer[] = [];
  for await (const c of chunks) all.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(all);
}

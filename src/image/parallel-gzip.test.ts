import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parallelGzip } from './parallel-gzip.ts';
import { sh } from './test-support.ts';

let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-pgzip-'));
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function gzipAll(chunks: Buffer[], opts: Parameters<typeof parallelGzip>[1] = {}): Promise<Buffer> {
  const out: Buffer[] = [];
  const source = async function* (): AsyncGenerator<Buffer> {
    yield* chunks;
  };
  for await (const c of parallelGzip(source(), opts)) out.push(c);
  return Buffer.concat(out);
}

/** Compressible text, random bytes, and text again: both kinds of block in one stream. */
function mixed(): Buffer {
  const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i} of some text\n`).join(''));
  return Buffer.concat([text, randomBytes(300_000), text.subarray(0, 123_457)]);
}

test('one valid gzip member that GNU gzip and node inflate to the input, for any block size', async () => {
  const input = mixed();
  for (const blockSize of [32 * 1024, 100_000, 1 << 20]) {
    const gz = await gzipAll([input], { blockSize });
    assert.deepEqual(gunzipSync(gz), input, `node, block ${blockSize}`);
    const file = join(tmp, `mixed-${blockSize}.gz`);
    await writeFile(file, gz);
    sh(`gzip -t '${file}'`);
    assert.equal(sh(`gzip -dc '${file}' | sha256sum`).split(' ')[0], createHash('sha256').update(input).digest('hex'), `gzip, block ${blockSize}`);
    assert.match(sh(`gzip -lv '${file}'`), /defla/);
  }
});

test('the output depends on the bytes, not on how they were chunked', async () => {
  const input = mixed();
  const whole = await gzipAll([input], { blockSize: 64 * 1024 });
  const pieces: Buffer[] = [];
  for (let at = 0; at < input.length; at += 7777) pieces.push(input.subarray(at, at + 7777));
  assert.deepEqual(await gzipAll(pieces, { blockSize: 64 * 1024, parallelism: 1 }), whole);
});

test('empty input, tiny input, and the header fields', async () => {
  for (const input of [Buffer.alloc(0), Buffer.from('x')]) {
    const gz = await gzipAll([input]);
    assert.deepEqual(gunzipSync(gz), input);
    assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], 'no name, mtime 0, OS unix');
  }
  assert.equal((await gzipAll([Buffer.from('x')], { level: 9 }))[8], 2, 'XFL for the slowest level');
});

test('incompressible blocks are stored, compressible ones compressed, and the size stays close to gzip -6', async () => {
  const random = randomBytes(2 << 20);
  const gz = await gzipAll([random]);
  assert.ok(gz.length < random.length + 200, `random data barely grows (${gz.length})`);
  const input = mixed();
  const file = join(tmp, 'mixed');
  await writeFile(file, input);
  const reference = Number(sh(`gzip -6 -c '${file}' | wc -c`));
  const ours = (await gzipAll([input])).length;
  assert.ok(ours <= reference * 1.02, `${ours} vs gzip -6 ${reference}`);
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { layerTar } from './layer-tar.ts';
import { readTar } from './tar-format.ts';
import { sh } from './test-support.ts';

let tmp: string;
let src: string;
const FILES = 1500;

async function collect(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of layerTar(dir)) chunks.push(c);
  return Buffer.concat(chunks);
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-layer-tar-'));
  src = join(tmp, 'src');
  // Many small files (some read ahead while getfattr runs, the rest in stride), and files too big to read ahead.
  for (let i = 0; i < FILES; i++) {
    const dir = join(src, `d${i % 37}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}`), createHash('sha256').update(String(i)).digest('hex').repeat(i % 97));
  }
  writeFileSync(join(src, 'big1'), Buffer.alloc(300_000, 7));
  writeFileSync(join(src, 'big2'), Buffer.alloc(3_000_000, 9));
  sh(`cd '${src}' && ln d1/f1 hard && : > d2/empty`);
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('many small files and large ones: every entry in order with its exact contents', async () => {
  const tar = await collect(src);
  const seen: string[] = [];
  for await (const { header, body } of readTar(Readable.from([tar]))) {
    seen.push(header.path);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    if (header.type === 'file') assert.deepEqual(Buffer.concat(chunks), readFileSync(join(src, header.path)), header.path);
    if (header.type === 'link') assert.equal(header.linkname, 'd1/f1');
  }
  assert.equal(seen.filter((p) => /^d\d+\/f\d+$/.test(p)).length, FILES);
  const sorted = [...seen].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(seen, sorted, 'sorted by name bytes, parents first');
  assert.ok(seen.includes('hard'));
  assert.deepEqual(await collect(src), tar, 'the same bytes again');
  writeFileSync(join(tmp, 't.tar'), tar);
  assert.equal(sh(`cd '${tmp}' && mkdir x && tar -xf t.tar -C x && diff -r '${src}' x && echo same`).trim(), 'same');
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { UserError } from '../errors.ts';
import { layerTar } from './layer-tar.ts';
import { readTar } from './tar-format.ts';
import { sh, tarEntryNames } from './test-support.ts';

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

/** The same changes as a diff dir in overlay form (`overlay`) or marker form. */
function diffDirPair(name: string, opts: { rootOpaque?: boolean } = {}): { overlay: string; marker: string } {
  const dirs = { overlay: join(tmp, `${name}-overlay`), marker: join(tmp, `${name}-marker`) };
  for (const [form, dir] of Object.entries(dirs)) {
    const [whiteout, opaque] =
      form === 'overlay'
        ? [(p: string) => `mknod '${p}' c 0 0`, (d: string) => `setfattr -h -n trusted.overlay.opaque -v y '${d}'`]
        : [(p: string) => `: > '${p.replace(/[^/]+$/, '.wh.$&')}' && chmod 0 '${p.replace(/[^/]+$/, '.wh.$&')}'`, (d: string) => `: > '${d}/.wh..wh..opq' && chmod 0 '${d}/.wh..wh..opq'`];
    sh(`
      mkdir -p '${dir}/o/inner' '${dir}/sub'
      cd '${dir}'
      echo kept > keep && echo first > o/-first && echo z > o/z && echo deep > o/inner/deep
      ${whiteout('gone')}
      ${whiteout('sub/gone')}
      ${whiteout('sub/-dash')}
      ${opaque('o')}
      ${opts.rootOpaque ? opaque('.') : ':'}
      find . -exec touch -h -d '2021-05-06 07:08:09' {} +
    `);
  }
  return dirs;
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('a diff dir gives the same layer digest whether its whiteouts and opaque dirs are overlay-style or marker files', async () => {
  const { overlay, marker } = diffDirPair('forms');
  const [fromOverlay, fromMarkers] = [await collect(overlay), await collect(marker)];
  assert.deepEqual(await tarEntryNames(fromMarkers), ['.wh.gone', 'keep', 'o/', 'o/.wh..wh..opq', 'o/-first', 'o/inner/', 'o/inner/deep', 'o/z', 'sub/', 'sub/.wh.-dash', 'sub/.wh.gone']);
  assert.equal(digest(fromMarkers), digest(fromOverlay));
});

test('an opaque root, and a dir marked opaque both ways, give one opaque entry each', async () => {
  const { overlay, marker } = diffDirPair('root', { rootOpaque: true });
  sh(`cd '${marker}' && setfattr -h -n trusted.overlay.opaque -v y o && touch -h -d '2021-05-06 07:08:09' o`);
  const fromMarkers = await collect(marker);
  assert.deepEqual((await tarEntryNames(fromMarkers)).slice(0, 5), ['.wh..wh..opq', '.wh.gone', 'keep', 'o/', 'o/.wh..wh..opq']);
  assert.equal(digest(fromMarkers), digest(await collect(overlay)));
});

test('other files named .wh.* are still refused', async () => {
  for (const [name, make] of [
    ['.wh.data', 'echo data > .wh.data && chmod 0 .wh.data'],
    ['.wh.readable', ': > .wh.readable'],
    ['.wh..wh.other', ': > .wh..wh.other && chmod 0 .wh..wh.other'],
    ['.wh.', ': > .wh. && chmod 0 .wh.'],
  ] as const) {
    const dir = join(tmp, `reserved-${name}`);
    sh(`mkdir '${dir}' && cd '${dir}' && ${make}`);
    await assert.rejects(collect(dir), (e) => e instanceof UserError && e.message.includes('reserved for whiteouts'), name);
  }
});

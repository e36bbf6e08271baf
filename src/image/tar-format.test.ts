import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { END_OF_ARCHIVE, encodeHeader, padding, readTar, type TarHeader } from './tar-format.ts';
import { sh } from './test-support.ts';

let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-tar-format-'));
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const LONG = `${'a'.repeat(150)}/${'b'.repeat(150)}/file`;
const headers: TarHeader[] = [
  { path: 'short.txt', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 5, mtime: 1_600_000_000 },
  { path: LONG, type: 'file', mode: 0o644, uid: 3_000_000, gid: 7, size: 3, mtime: 1_600_000_001 },
  { path: 'ünïcode/', type: 'directory', mode: 0o1777, uid: 1, gid: 2, size: 0, mtime: 0 },
  { path: 'link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 5, linkname: `/${'x'.repeat(200)}` },
  {
    path: 'xattr',
    type: 'file',
    mode: 0o600,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 5,
    xattrs: new Map([['user.bin', Buffer.from([0x00, 0x0a, 0xff, 0x3d, 0x20])]]),
  },
  { path: 'dev', type: 'char', mode: 0o666, uid: 0, gid: 0, size: 0, mtime: 5, devmajor: 1, devminor: 3 },
];
const bodies = ['hello', 'abc', '', '', '', ''];

function archive(): Buffer {
  const parts: Buffer[] = [];
  headers.forEach((h, i) => {
    parts.push(encodeHeader(h), Buffer.from(bodies[i] ?? ''), padding(h.size));
  });
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

test('encoded headers decode to the same entries, binary xattrs intact', async () => {
  const got: [TarHeader, string][] = [];
  for await (const { header, body } of readTar(Readable.from([archive()]))) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    got.push([header, Buffer.concat(chunks).toString()]);
  }
  assert.deepEqual(
    got,
    headers.map((h, i) => [h, bodies[i]]),
  );
});

test('GNU tar reads what we write', async () => {
  const file = join(tmp, 'ours.tar');
  await writeFile(file, archive());
  const listed = sh(`tar --numeric-owner -tvf '${file}'`);
  assert.match(listed, new RegExp(`-rwsr-xr-x 0/0 +5 .* short.txt`));
  assert.match(listed, new RegExp(`3000000/7 +3 .* ${LONG}`));
  assert.match(listed, /drwxrwxrwt 1\/2 .* ünïcode\//);
  assert.match(listed, /crw-rw-rw- 0\/0 +1,3 .* dev/);
});

test('reads GNU and PAX archives made by GNU tar, unread bodies skipped', async () => {
  sh(`cd '${tmp}' && mkdir -p src/${'d'.repeat(120)} && echo one > src/${'d'.repeat(120)}/${'f'.repeat(120)} && echo two > src/two`);
  for (const format of ['gnu', 'pax', 'ustar']) {
    const file = join(tmp, `${format}.tar`);
    sh(`cd '${tmp}/src' && tar --format=${format} --sort=name -cf '${file}' . 2>/dev/null || true`);
    const names: string[] = [];
    for await (const { header } of readTar(createReadStream(file) as AsyncIterable<Buffer>)) names.push(header.path);
    const expected = format === 'ustar' ? ['./', './two'] : ['./', `./${'d'.repeat(120)}/`, `./${'d'.repeat(120)}/${'f'.repeat(120)}`, './two'];
    assert.deepEqual(names, expected, format);
  }
});

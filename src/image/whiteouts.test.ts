import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeNode, ToolError, writeXattrs } from './fs-tools.ts';
import { Mounts, sh } from './test-support.ts';
import { deletedBy, WhiteoutWriter } from './whiteouts.ts';

let tmp: string;
let overlay: string;
let ramfs: string;
const mounts = new Mounts();

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-whiteouts-'));
  [overlay, ramfs] = [join(tmp, 'overlay'), join(tmp, 'ramfs')];
  for (const d of ['overlay', 'ramfs', 'lower', 'upper', 'work']) mkdirSync(join(tmp, d));
  mounts.overlay([join(tmp, 'lower')], overlay, { upper: join(tmp, 'upper'), work: join(tmp, 'work') });
  sh(`mount -t ramfs ramfs '${ramfs}'`);
});
after(async () => {
  mounts.cleanup();
  sh(`umount '${ramfs}'`);
  await rm(tmp, { recursive: true, force: true });
});

test('the tools report the errno with which a file system refuses the overlay form', async () => {
  await assert.rejects(makeNode(join(overlay, 'x'), 'char', 0, 0), (e) => e instanceof ToolError && e.errno === 'EPERM');
  mkdirSync(join(ramfs, 'd'));
  await assert.rejects(
    writeXattrs([{ path: join(ramfs, 'd'), name: 'trusted.overlay.opaque', value: Buffer.from('y') }]),
    (e) => e instanceof ToolError && e.errno === 'EOPNOTSUPP',
  );
  await assert.rejects(makeNode(join(tmp, 'missing/x'), 'char', 0, 0), (e) => e instanceof ToolError && e.errno === undefined);
});

test('other failures are errors, not a reason to write markers', async () => {
  const writer = new WhiteoutWriter(overlay);
  await assert.rejects(writer.whiteout(join(overlay, 'missing/x')), ToolError);
  await writer.whiteout(join(overlay, 'x'));
  assert.ok(existsSync(join(overlay, '.wh.x')), 'the refused device became a marker');
});

test('deletedBy: the name a whiteout deletes', () => {
  assert.equal(deletedBy('.wh.vi'), 'vi');
  assert.equal(deletedBy('.wh..hidden'), '.hidden');
  for (const name of ['vi', '.wh.', '.wh..', '.wh...', '.wh..wh..opq', '.wh..wh.x']) assert.equal(deletedBy(name), undefined, name);
});

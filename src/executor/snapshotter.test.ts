import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Lower } from './diff-dirs.ts';
import { OverlaySnapshotter } from './snapshotter.ts';
import { diffStore } from '../../test/helpers/diff-store.ts';

describe('overlay snapshots over long layer chains', () => {
  let root: string;
  let snapshotter: OverlaySnapshotter;
  const lowers: Lower[] = [];
  const LAYERS = 400;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-snap-'));
    const { diffs, scratch } = diffStore(root);
    snapshotter = new OverlaySnapshotter(diffs, scratch);
    for (let i = 0; i < LAYERS; i++) {
      const d = await diffs.create();
      await writeFile(join(d.path, `layer-${i}`), `${i}\n`);
      await writeFile(join(d.path, 'shared'), `from layer ${i}\n`);
      lowers.push({ id: d.id });
    }
    // the top layer deletes the bottom layer's own file, as an overlay whiteout
    const top = await diffs.create();
    execFileSync('mknod', [join(top.path, 'layer-0'), 'c', '0', '0']);
    lowers.push({ id: top.id });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it(`mounts ${LAYERS} layers (more than one page of mount options) in the right order`, async () => {
    const snap = await snapshotter.prepare(lowers);
    try {
      const names = await readdir(snap.rootfs);
      assert.equal(names.filter((n) => n.startsWith('layer-')).length, LAYERS - 1);
      assert.ok(!names.includes('layer-0'), 'a whiteout above the folded layers still hides a file in them');
      assert.equal(await readFile(join(snap.rootfs, 'shared'), 'utf8'), `from layer ${LAYERS - 1}\n`);
      await writeFile(join(snap.rootfs, 'new'), 'written\n');
      await snap.unmount();
      assert.deepEqual(await readdir(snap.upper), ['new']);
    } finally {
      await snap.release(false);
    }
  });

  it('gives a read-only view of the same chain', async () => {
    const view = await snapshotter.view(lowers);
    try {
      assert.equal(await readFile(join(view.rootfs, `layer-${LAYERS - 1}`), 'utf8'), `${LAYERS - 1}\n`);
      await assert.rejects(writeFile(join(view.rootfs, 'x'), ''), { code: 'EROFS' });
    } finally {
      await view.remove();
    }
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(root), 'nothing left mounted');
  });
});

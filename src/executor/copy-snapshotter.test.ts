import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layerTar } from '../image/layer-tar.ts';
import { ensureTool, Mounts, sh, tarEntryNames } from '../image/test-support.ts';
import { CopySnapshotter } from './copy-snapshotter.ts';
import { diffStore } from '../../test/helpers/diff-store.ts';

/**
 * A step that deletes files, replaces a directory by a new one and another
 * by a file, snapshotted by copies on three file systems: the temp dir's
 * (ext4 here) takes the overlay form of whiteouts; overlayfs refuses 0:0
 * devices and ramfs refuses xattrs, so each gets markers for one of them.
 * The next step must see the same tree, and the layer must have the same
 * bytes, on all three.
 */
describe('copy snapshots on file systems that refuse the overlay form', () => {
  let tmp: string;
  const mounts = new Mounts();
  const ramfs: string[] = [];
  const tars = new Map<string, Buffer>();

  before(async () => {
    ensureTool('getfattr', 'attr');
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-copy-snap-'));
  });
  after(async () => {
    mounts.cleanup();
    for (const dir of ramfs) sh(`umount '${dir}'`);
    await rm(tmp, { recursive: true, force: true });
  });

  /** A fresh `$TSBUILD_ROOT` on the file system `fs`. */
  async function rootOn(fs: string): Promise<string> {
    const dir = join(tmp, fs);
    await mkdir(dir);
    if (fs === 'overlayfs') {
      const [lower, upper, work] = ['lower', 'upper', 'work'].map((n) => join(tmp, `${fs}-${n}`)) as [string, string, string];
      for (const d of [lower, upper, work]) await mkdir(d);
      mounts.overlay([lower], dir, { upper, work });
    } else if (fs === 'ramfs') {
      sh(`mount -t ramfs ramfs '${dir}'`);
      ramfs.push(dir);
    }
    return dir;
  }

  for (const fs of ['tmpdir', 'overlayfs', 'ramfs']) {
    it(`on ${fs}: the next step sees the deletions, and the layer is the same`, async () => {
      const root = await rootOn(fs);
      const { diffs, scratch } = diffStore(root);
      const snapshotter = new CopySnapshotter(diffs, scratch);
      const base = await diffs.create();
      mkdirSync(join(base.path, 'd/sub'), { recursive: true });
      mkdirSync(join(base.path, 'e'));
      mkdirSync(join(base.path, 'f'));
      for (const f of ['keep', 'gone', 'd/old', 'd/sub/x', 'e/y', 'f/z']) writeFileSync(join(base.path, f), f);

      const step = await snapshotter.prepare([{ id: base.id }]);
      rmSync(join(step.rootfs, 'gone'));
      rmSync(join(step.rootfs, 'e/y'));
      // made before the old one goes, so that it cannot get its inode back
      mkdirSync(join(step.rootfs, 'd.new'));
      writeFileSync(join(step.rootfs, 'd.new/new'), 'new');
      rmSync(join(step.rootfs, 'd'), { recursive: true });
      renameSync(join(step.rootfs, 'd.new'), join(step.rootfs, 'd'));
      rmSync(join(step.rootfs, 'f'), { recursive: true });
      writeFileSync(join(step.rootfs, 'f'), 'a file now');
      await step.unmount();

      const marker = (path: string): boolean => {
        const st = lstatSync(join(step.upper, path), { throwIfNoEntry: false });
        return st !== undefined && st.isFile() && st.size === 0 && (st.mode & 0o7777) === 0;
      };
      const device = (path: string): boolean => {
        const st = lstatSync(join(step.upper, path), { throwIfNoEntry: false });
        return st !== undefined && st.isCharacterDevice() && st.rdev === 0;
      };
      assert.equal(marker('.wh.gone') && marker('e/.wh.y'), fs === 'overlayfs', 'whiteouts are markers just where devices are refused');
      assert.equal(device('gone') && device('e/y'), fs !== 'overlayfs');
      assert.equal(marker('d/.wh..wh..opq'), fs === 'ramfs', 'opaque markers just where xattrs are refused');

      const view = await snapshotter.view([{ id: base.id }, { id: step.id }]);
      try {
        assert.equal(sh(`cd '${view.rootfs}' && find . | sort`), ['.', './d', './d/new', './e', './f', './keep', ''].join('\n'));
        assert.equal(readFileSync(join(view.rootfs, 'd/new'), 'utf8'), 'new');
      } finally {
        await view.remove();
      }

      sh(`find '${step.upper}' -exec touch -h -d '2020-01-01T00:00:00Z' {} +`);
      const chunks: Buffer[] = [];
      for await (const c of layerTar(step.upper)) chunks.push(c);
      const tar = Buffer.concat(chunks);
      tars.set(fs, tar);
      assert.deepEqual(await tarEntryNames(tar), ['.wh.gone', 'd/', 'd/.wh..wh..opq', 'd/new', 'e/', 'e/.wh.y', 'f']);
      if (fs !== 'tmpdir') assert.ok(tar.equals(tars.get('tmpdir') ?? Buffer.alloc(0)), `the ${fs} layer has the bytes of the tmpdir one`);
      await step.release(false);
    });
  }
});

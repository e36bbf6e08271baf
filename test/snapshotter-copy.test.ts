import assert from 'node:assert/strict';
import { lstat, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, fixture, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

/** The copy-based snapshotter (for hosts where overlayfs cannot be mounted) gives the same image contents. */
describe('builds with the copy snapshotter', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let rootfs: string;
  let layout: string;
  const env = { TSBUILD_SNAPSHOTTER: 'copy' };

  before(async () => {
    work = await tempDir();
    const root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    layout = join(work.path, 'layout');
    const r = await tsbuild(root, ['build', '-t', 'tsbuild.test/app:copy', '-o', `type=oci,dest=${layout},tar=false`, fixture('skeleton')], { env });
    assert.equal(r.code, 0, r.stderr);
    await mustRun('umoci', ['unpack', '--image', `${layout}:copy`, join(work.path, 'bundle')]);
    rootfs = join(work.path, 'bundle/rootfs');
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(root), 'no overlay was mounted');
  });
  after(async () => work.cleanup());

  it('has the files, contents, owners and deletions of the overlay build', async () => {
    assert.equal(await readFile(join(rootfs, 'app/greeting.txt'), 'utf8'), 'hello world from /app in production\n');
    assert.equal(await readFile(join(rootfs, 'app/hello.txt'), 'utf8'), 'Hello from the build context\n');
    assert.equal((await stat(join(rootfs, 'data/note'))).uid, 65534);
    await assert.rejects(lstat(join(rootfs, 'bin/vi')), { code: 'ENOENT' });
    assert.ok((await lstat(join(rootfs, 'bin/sh'))).isSymbolicLink());
  });

  it('puts only the changes in each layer', async () => {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(join(layout, 'blobs/sha256', index.manifests[0]?.digest.slice(7) ?? ''), 'utf8')) as { layers: { digest: string }[] };
    const listings = await Promise.all(manifest.layers.slice(1).map(async (l) => (await mustRun('tar', ['-tzf', join(layout, 'blobs/sha256', l.digest.slice(7))])).trim().split('\n')));
    const runLayer = listings.find((entries) => entries.includes('bin/.wh.vi'));
    assert.deepEqual(runLayer?.sort(), ['bin/', 'bin/.wh.vi', 'data/', 'data/note']);
    for (const entries of listings) assert.ok(!entries.some((e) => e.startsWith('etc/')), entries.join(' '));
  });
});

import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
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

/**
 * Where overlayfs cannot be mounted — here a root that is itself on an
 * overlay, as inside many containers — the default snapshotter finds out at
 * the first failed mount and builds with copies instead, saying so.
 */
describe('falling back to copies where overlayfs cannot be mounted', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let onOverlay: string;

  before(async () => {
    work = await tempDir();
    const parts = ['lower', 'upper', 'work', 'merged'].map((n) => join(work.path, n));
    for (const dir of parts) await mkdir(dir);
    const [lower, upper, workDir, merged] = parts as [string, string, string, string];
    await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${workDir}`, merged]);
    onOverlay = merged;
  });
  after(async () => {
    await mustRun('umount', [onOverlay]);
    await work.cleanup();
  });

  it('builds the image with copies and says why', async () => {
    const root = join(onOverlay, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    const out = join(work.path, 'out');
    const r = await tsbuild(root, ['build', '--progress=plain', '-o', `type=local,dest=${out}`, fixture('skeleton')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /overlayfs cannot be mounted here \(.+\): using copies for snapshots/);
    assert.equal(await readFile(join(out, 'app/greeting.txt'), 'utf8'), 'hello world from /app in production\n');
    await assert.rejects(lstat(join(out, 'bin/vi')), { code: 'ENOENT' });
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(`${root}/`), 'nothing left mounted in the root');
  });

  /**
   * overlayfs refuses the 0:0 devices of whiteouts (and, before Linux 6.7,
   * opaque xattrs) on it: diff dirs there hold `.wh.` marker files instead,
   * both those a step writes and those unpacked from a base image's blobs.
   */
  it('stacks a base image whose layers delete a file and replace a directory', async () => {
    const root = join(onOverlay, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    const base = join(work.path, 'deleting-base');
    await mkdir(base);
    await writeFile(
      join(base, 'Dockerfile'),
      [
        'FROM tsbuild.test/busybox:1.35',
        'RUN mkdir -p /opt/d && echo old > /opt/d/old && echo gone > /opt/gone',
        'RUN mkdir /opt/d.new && echo new > /opt/d.new/new && rm -r /opt/d /opt/gone && mv /opt/d.new /opt/d',
        '',
      ].join('\n'),
    );
    const built = await tsbuild(root, ['build', '-t', 'tsbuild.test/deleting:1', base]);
    assert.equal(built.code, 0, built.stderr);
    // a base image's layers are unpacked from their blobs into diff dirs of their own
    const app = join(work.path, 'on-deleting-base');
    await mkdir(app);
    await writeFile(join(app, 'Dockerfile'), 'FROM tsbuild.test/deleting:1\nRUN ls -A /opt /opt/d > /listing\n');
    const out = join(work.path, 'out-deleting');
    const r = await tsbuild(root, ['build', '-o', `type=local,dest=${out}`, app]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(out, 'listing'), 'utf8'), '/opt:\nd\n\n/opt/d:\nnew\n');
  });
});

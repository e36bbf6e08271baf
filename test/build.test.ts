import assert from 'node:assert/strict';
import { lstat, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, fixture, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

interface ImageConfigJson {
  config: { Env?: string[]; Cmd?: string[]; WorkingDir?: string; ExposedPorts?: Record<string, object>; Labels?: Record<string, string> };
  rootfs: { diff_ids: string[] };
  history: { empty_layer?: boolean }[];
}

describe('a build from a tagged local base, on runc and overlayfs', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let layout: string;
  let firstDigest: string;
  let firstStderr: string;

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    layout = join(work.path, 'layout');
    const r = await tsbuild(root, ['build', '-t', 'tsbuild.test/app:1', '-o', `type=oci,dest=${layout},tar=false`, fixture('skeleton')]);
    assert.equal(r.code, 0, r.stderr);
    firstDigest = r.stdout.trim();
    firstStderr = r.stderr;
  });
  after(async () => work.cleanup());

  it('prints the image manifest digest', () => {
    assert.match(firstDigest, /^sha256:[a-f0-9]{64}$/);
    assert.match(firstStderr, /writing image sha256:[a-f0-9]{64}/);
  });

  it('runs RUN steps in a container and streams their output', () => {
    assert.match(firstStderr, /RUN rm \/bin\/vi/);
    assert.match(firstStderr, /#\d+ DONE/);
  });

  it('writes an OCI layout that skopeo reads', async () => {
    const inspect = JSON.parse(await mustRun('skopeo', ['inspect', `oci:${layout}:1`])) as { Layers: string[]; Env: string[] };
    assert.equal(inspect.Layers.length, 6, 'base + WORKDIR + 2 COPY + 2 RUN, none empty');
    assert.ok(inspect.Env.includes('APP_ENV=production'));
  });

  it('has the expected image config', async () => {
    const config = JSON.parse(await mustRun('skopeo', ['inspect', '--config', `oci:${layout}:1`])) as ImageConfigJson;
    assert.deepEqual(config.config.Cmd, ['greet']);
    assert.equal(config.config.WorkingDir, '/app');
    assert.ok(config.config.Env?.includes('GREETING=hello world'));
    assert.ok(config.config.Env?.some((e) => e.startsWith('PATH=')));
    assert.deepEqual(config.config.ExposedPorts, { '8080/tcp': {} });
    assert.equal(config.config.Labels?.['org.example.fixture'], 'skeleton');
    const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
    assert.equal(nonEmpty, config.rootfs.diff_ids.length, 'one non-empty history entry per layer');
  });

  it('unpacks with umoci to the expected files, contents, modes and owners', async () => {
    const bundle = join(work.path, 'bundle');
    await mustRun('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    assert.equal(await readFile(join(rootfs, 'app/hello.txt'), 'utf8'), 'Hello from the build context\n');
    assert.equal(await readFile(join(rootfs, 'app/greeting.txt'), 'utf8'), 'hello world from /app in production\n');
    const greet = await stat(join(rootfs, 'usr/local/bin/greet'));
    assert.equal(greet.mode & 0o7777, 0o755);
    assert.equal(greet.uid, 0);
    const hello = await stat(join(rootfs, 'app/hello.txt'));
    assert.equal(hello.mode & 0o7777, 0o644);
    const data = await stat(join(rootfs, 'data/note'));
    assert.equal(data.uid, 65534);
    assert.equal(data.gid, 65534);
    await assert.rejects(lstat(join(rootfs, 'bin/vi')), { code: 'ENOENT' }, 'a file deleted by RUN is absent');
    assert.ok((await lstat(join(rootfs, 'bin/sh'))).isSymbolicLink(), 'the rest of the base is there');
    await assert.rejects(lstat(join(rootfs, 'etc/hostname')), { code: 'ENOENT' }, 'runtime mount stubs stay out of layers');
  });

  it('puts in each layer only what its step changed: no runtime mount points, no untouched parents', async () => {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifestDigest = index.manifests[0]?.digest.slice('sha256:'.length) ?? '';
    const manifest = JSON.parse(await readFile(join(layout, 'blobs/sha256', manifestDigest), 'utf8')) as { layers: { digest: string }[] };
    const listings = await Promise.all(
      manifest.layers.slice(1).map(async (l) => (await mustRun('tar', ['-tzf', join(layout, 'blobs/sha256', l.digest.slice('sha256:'.length))])).trim().split('\n')),
    );
    for (const entries of listings) assert.ok(!entries.some((e) => e.startsWith('etc/')), `unexpected /etc in a layer: ${entries.join(' ')}`);
    const runLayer = listings.find((entries) => entries.includes('bin/.wh.vi'));
    assert.deepEqual(runLayer?.sort(), ['bin/', 'bin/.wh.vi', 'data/', 'data/note']);
  });

  it('rebuilds entirely from cache with the same digest', async () => {
    const r = await tsbuild(root, ['build', '-t', 'tsbuild.test/app:1', fixture('skeleton')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), firstDigest);
    assert.equal((r.stderr.match(/^#\d+ CACHED$/gm) ?? []).length, 5);
    assert.doesNotMatch(r.stderr, /DONE/);
  });
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeBusyboxLayout, pushBase } from './helpers/base-image.ts';
import { startRegistry, type TestRegistry } from './helpers/registry.ts';
import { fixture, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

describe('a build FROM an image in a real registry on 127.0.0.1', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let registry: TestRegistry;

  before(async () => {
    work = await tempDir();
    registry = await startRegistry();
    await pushBase(registry.host, await makeBusyboxLayout(join(work.path, 'base')));
  });
  after(async () => {
    await registry.stop();
    await work.cleanup();
  });

  it('pulls the base anonymously over plain HTTP and builds the fixture on it', async () => {
    const root = join(work.path, 'root');
    const layout = join(work.path, 'layout');
    const base = `${registry.host}/busybox:1.35`;
    const r = await tsbuild(root, ['build', '--build-arg', `BASE=${base}`, '-t', 'tsbuild.test/app:reg', '-o', `type=oci,dest=${layout},tar=false`, fixture('skeleton')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`pulling ${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    const bundle = join(work.path, 'bundle');
    await mustRun('umoci', ['unpack', '--image', `${layout}:reg`, bundle]);
    assert.equal(await readFile(join(bundle, 'rootfs/app/greeting.txt'), 'utf8'), 'hello world from /app in production\n');
    const config = JSON.parse(await mustRun('skopeo', ['inspect', '--config', `oci:${layout}:reg`])) as { config: { Cmd: string[] } };
    assert.deepEqual(config.config.Cmd, ['greet']);

    const again = await tsbuild(root, ['build', '--build-arg', `BASE=${base}`, fixture('skeleton')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, r.stdout, 'same image digest from the cache');
    assert.doesNotMatch(again.stderr, /pulling/, 'the pulled base is remembered by name');
  });
});

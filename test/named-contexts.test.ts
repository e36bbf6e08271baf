import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

describe('--build-context NAME=DIR and --network', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
  });
  after(async () => work.cleanup());

  it('reads COPY --from and RUN --mount=from from a named directory, with its own .dockerignore', async () => {
    const extra = join(work.path, 'extra');
    const ctx = join(work.path, 'ctx');
    await mkdir(extra, { recursive: true });
    await mkdir(ctx, { recursive: true });
    await writeFile(join(extra, 'shared.txt'), 'from the named context\n');
    await writeFile(join(extra, 'secret.key'), 'ignored\n');
    await writeFile(join(extra, '.dockerignore'), '*.key\n');
    await writeFile(
      join(ctx, 'Dockerfile'),
      'FROM tsbuild.test/busybox:1.35\nCOPY --from=extra . /extra/\nRUN --mount=from=extra,target=/mnt cat /mnt/shared.txt > /mounted.txt\n',
    );
    const layout = join(work.path, 'layout');
    const r = await tsbuild(root, ['build', '--build-context', `extra=${extra}`, '-t', 'tsbuild.test/named:1', '-o', `type=oci,dest=${layout},tar=false`, ctx]);
    assert.equal(r.code, 0, r.stderr);
    await mustRun('umoci', ['unpack', '--image', `${layout}:1`, join(work.path, 'bundle')]);
    const rootfs = join(work.path, 'bundle/rootfs');
    assert.equal(await readFile(join(rootfs, 'extra/shared.txt'), 'utf8'), 'from the named context\n');
    await assert.rejects(readFile(join(rootfs, 'extra/secret.key')), { code: 'ENOENT' });
    assert.equal(await readFile(join(rootfs, 'mounted.txt'), 'utf8'), 'from the named context\n');
  });

  it('--network none gives RUN steps without their own --network only loopback', async () => {
    const ctx = join(work.path, 'net');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), 'FROM tsbuild.test/busybox:1.35\nRUN ls /sys/class/net > /net.txt\nRUN --network=host ls /sys/class/net | wc -l > /host.txt\n');
    const layout = join(work.path, 'net-layout');
    const r = await tsbuild(root, ['build', '--network', 'none', '-t', 'tsbuild.test/net:1', '-o', `type=oci,dest=${layout},tar=false`, ctx]);
    assert.equal(r.code, 0, r.stderr);
    await mustRun('umoci', ['unpack', '--image', `${layout}:1`, join(work.path, 'net-bundle')]);
    assert.equal(await readFile(join(work.path, 'net-bundle/rootfs/net.txt'), 'utf8'), 'lo\n');
  });
});

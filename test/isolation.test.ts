import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

/**
 * What a RUN step can see and do: each RUN writes what it observed into
 * /results, and the test reads the image that comes out.
 */
describe('RUN isolation', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let results: string;
  const marker = `/etc/tsbuild-host-marker-${process.pid}`;

  before(async () => {
    work = await tempDir();
    const root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    await writeFile(marker, 'host secret\n');
    const ctx = join(work.path, 'ctx');
    await mkdir(ctx);
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM tsbuild.test/busybox:1.35',
        'RUN mkdir -m 1777 /results',
        `RUN if [ -e ${marker} ]; then echo visible; else echo invisible; fi > /results/marker`,
        'RUN ls /proc | grep -c "^[0-9][0-9]*$" > /results/pids && cat /proc/1/cmdline | tr "\\0" " " > /results/pid1',
        'RUN hostname > /results/hostname',
        'RUN --network=none ls /sys/class/net > /results/net-none && ip -o link show lo | grep -c UP > /results/lo-up',
        'RUN ls /sys/class/net | wc -l > /results/net-default',
        'RUN mount -t tmpfs none /mnt 2> /results/mount-error; echo $? > /results/mount',
        'USER nobody',
        'RUN touch /etc/owned-by-root 2> /results/write-error; echo $? > /results/write; id -u > /results/uid',
      ].join('\n'),
    );
    const layout = join(work.path, 'layout');
    const r = await tsbuild(root, ['build', '-t', 'tsbuild.test/iso:1', '-o', `type=oci,dest=${layout},tar=false`, ctx]);
    assert.equal(r.code, 0, r.stderr);
    await mustRun('umoci', ['unpack', '--image', `${layout}:1`, join(work.path, 'bundle')]);
    results = join(work.path, 'bundle/rootfs/results');
  });
  after(async () => {
    await rm(marker, { force: true });
    await work.cleanup();
  });

  const read = async (name: string): Promise<string> => (await readFile(join(results, name), 'utf8')).trim();

  it('cannot see a file on the host', async () => {
    assert.equal(await read('marker'), 'invisible');
  });

  it('sees only its own processes, with its command as PID 1', async () => {
    assert.ok(Number(await read('pids')) <= 4, `saw ${await read('pids')} processes`);
    assert.match(await read('pid1'), /^\/bin\/sh -c /);
  });

  it('has its own hostname', async () => {
    const name = await read('hostname');
    assert.notEqual(name, hostname());
    assert.ok(name.length > 0);
  });

  it('has only lo, and lo up, with --network=none', async () => {
    assert.equal(await read('net-none'), 'lo');
    assert.equal(await read('lo-up'), '1');
    assert.ok(Number(await read('net-default')) >= 1);
  });

  it('cannot mount (no CAP_SYS_ADMIN)', async () => {
    assert.notEqual(await read('mount'), '0');
  });

  it('as USER nobody cannot write root-owned files', async () => {
    assert.equal(await read('uid'), '65534');
    assert.notEqual(await read('write'), '0');
    assert.match(await read('write-error'), /Permission denied/);
  });
});

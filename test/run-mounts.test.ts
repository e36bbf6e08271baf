import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, fixture, mustRun, run, tempDir, tsbuild } from './helpers/tsbuild.ts';

const SECRET = 'tsbuild-secret-value-7f3a9c';

describe('RUN --mount and RUN heredocs', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let out: string;
  let buildOutput: string;
  let args: string[];

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    const secretFile = join(work.path, 'token.txt');
    await writeFile(secretFile, SECRET);
    const layout = join(work.path, 'layout');
    args = ['build', '-f', fixture('run-mounts', 'Dockerfile'), '--secret', `id=token,src=${secretFile}`, '-t', 'tsbuild.test/mounts:1', '-o', `type=oci,dest=${layout},tar=false`, fixture('run-mounts', 'ctx')];
    const r = await tsbuild(root, args);
    assert.equal(r.code, 0, r.stderr);
    buildOutput = r.stdout + r.stderr;
    await mustRun('umoci', ['unpack', '--image', `${layout}:1`, join(work.path, 'bundle')]);
    out = join(work.path, 'bundle/rootfs/out');
  });
  after(async () => work.cleanup());

  const read = async (name: string): Promise<string> => (await readFile(join(out, name), 'utf8')).trim();

  it('binds the context read-only, and another stage', async () => {
    assert.equal(await read('bind.txt'), 'bound from context');
    assert.equal(await read('bind-stage.txt'), 'from a stage');
  });

  it('discards writes to a rw bind mount', async () => {
    assert.equal(await read('bind-rw.txt'), 'input.txt\nscribble.txt');
    const rootfs = join(work.path, 'bundle/rootfs');
    assert.deepEqual((await readdir(rootfs)).includes('mnt'), false, 'mount points stay out of the image');
  });

  it('keeps a cache mount between builds, out of the image', async () => {
    assert.equal(await read('cache-lines.txt'), '1');
    const again = await tsbuild(root, [...args.slice(0, 1), '--no-cache', ...args.slice(1)]);
    assert.equal(again.code, 0, again.stderr);
    await assert.rejects(readFile(join(work.path, 'bundle/rootfs/var/cache/app/log')), { code: 'ENOENT' });
  });

  it('mounts a tmpfs', async () => {
    assert.equal(await read('tmpfs.txt'), '1');
  });

  it('gives a secret as a file (mode 0400) and as an env var', async () => {
    assert.equal(await read('secret-length.txt'), String(SECRET.length));
    assert.equal(await read('secret-mode.txt'), '400');
    assert.equal(await read('secret-env.txt'), 'set');
  });

  it('leaves the secret value nowhere: not in the root, the image or the output', async () => {
    const grep = await run('grep', ['-r', '-l', '-a', SECRET, root]);
    assert.equal(grep.stdout, '', `found the secret in: ${grep.stdout}`);
    const inImage = await run('grep', ['-r', '-l', '-a', SECRET, join(work.path, 'layout'), join(work.path, 'bundle')]);
    assert.equal(inImage.stdout, '');
    assert.ok(!buildOutput.includes(SECRET));
  });

  it('runs heredoc scripts, with a #! line, and feeds heredocs on stdin', async () => {
    assert.equal(await read('heredoc.txt'), 'heredoc script');
    assert.equal(await read('shebang.txt'), 'shebang script: /dev/pipes/EOT');
    assert.equal(await read('stdin.txt'), 'fed on stdin');
  });
});

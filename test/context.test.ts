import assert from 'node:assert/strict';
import { chmod, cp, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mustRun, projectRoot, run, tempDir, tsbuild, type CliResult } from './helpers/tsbuild.ts';

interface PlanJson {
  stages: { steps: { name: string; inputs: Record<string, string> }[] }[];
}

/** The build context in real builds: links, escapes, unreadable files, and what changes COPY's key. */
describe('the build context', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    // the unreadable-file cases run as nobody, who must reach the contexts
    await chmod(work.path, 0o755);
  });
  after(async () => work.cleanup());

  async function context(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(work.path, name);
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(join(dir, rel, '..'), { recursive: true });
      await writeFile(join(dir, rel), content);
    }
    return dir;
  }

  const lastLine = (r: CliResult): string => r.stderr.trimEnd().split('\n').pop() ?? '';

  /** The `context` input of each COPY in the plan, by step name. */
  async function copyInputs(dir: string): Promise<Record<string, string | undefined>> {
    const r = await tsbuild(root, ['plan', '--json', dir]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanJson;
    return Object.fromEntries(plan.stages.flatMap((s) => s.steps).map((s) => [s.name, s.inputs.context]));
  }

  it('copies a symlink to /etc/passwd as a link and never reads the host file', async () => {
    const dir = await context('link', { Dockerfile: 'FROM scratch\nCOPY passwd /etc/\nCOPY . /ctx/\n' });
    await symlink('/etc/passwd', join(dir, 'passwd'));
    const layout = join(work.path, 'link-layout');
    const r = await tsbuild(root, ['build', '-o', `type=oci,dest=${layout},tar=false`, dir]);
    assert.equal(r.code, 0, r.stderr);
    const listing = await layerListing(layout);
    assert.match(listing, /^l\S+ 0\/0 +0 .* etc\/passwd -> \/etc\/passwd$/m);
    assert.match(listing, /^l\S+ 0\/0 +0 .* ctx\/passwd -> \/etc\/passwd$/m);
    assert.doesNotMatch(listing, /^-.* etc\/passwd$/m, 'no regular file with the host content');
  });

  it('copies devices as nodes and a socket as an empty file, and leaves FIFOs out, as BuildKit', async () => {
    const dir = await context('specials', { Dockerfile: 'FROM scratch\nCOPY . /ctx/\n' });
    await mustRun('mkfifo', ['-m', '0640', join(dir, 'pipe')]);
    await mustRun('mknod', ['-m', '0666', join(dir, 'null'), 'c', '1', '3']);
    const server = createServer();
    await new Promise<void>((ok) => server.listen(join(dir, 'sock'), ok));
    try {
      const layout = join(work.path, 'specials-layout');
      const r = await tsbuild(root, ['build', '-o', `type=oci,dest=${layout},tar=false`, dir]);
      assert.equal(r.code, 0, r.stderr);
      const listing = await layerListing(layout);
      assert.doesNotMatch(listing, /ctx\/pipe/);
      assert.match(listing, /^crw-rw-rw- 0\/0 +1,3 .* ctx\/null$/m);
      assert.match(listing, /^-\S+ 0\/0 +0 .* ctx\/sock$/m);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });

  it('does not let a linked parent directory lead out of the context', async () => {
    const dir = await context('parent-link', { Dockerfile: 'FROM scratch\nCOPY sys/passwd /x\n' });
    await symlink('/etc', join(dir, 'sys'));
    const r = await tsbuild(root, ['build', dir]);
    assert.equal(r.code, 1);
    assert.equal(lastLine(r), 'error: Dockerfile:2:1: COPY failed: file not found in build context: sys/passwd');
  });

  it('refuses COPY ../x and absolute sources with a clear error', async () => {
    await context('outside', { x: 'outside the context' });
    const up = await context('escape/up', { Dockerfile: 'FROM scratch\nCOPY ../x /x\n' });
    const r1 = await tsbuild(root, ['build', up]);
    assert.equal(r1.code, 1);
    assert.match(lastLine(r1), /^error: Dockerfile:2:1: COPY failed: \.\.\/x is outside the build context: sources are paths inside the context directory/);
    const abs = await context('escape/abs', { Dockerfile: 'FROM scratch\nADD /etc/passwd /x\n' });
    const r2 = await tsbuild(root, ['build', abs]);
    assert.equal(r2.code, 1);
    assert.match(lastLine(r2), /^error: Dockerfile:2:1: COPY failed: \/etc\/passwd is outside the build context/);
    assert.doesNotMatch(r1.stderr + r2.stderr, /\n\s+at /, 'no stack trace');
  });

  it('keys COPY by content: same for a clone, new for a byte or a permission bit, not for an ignored file', async () => {
    const first = await context('keys/first', {
      Dockerfile: 'FROM scratch\nCOPY src /src\nCOPY . /all\n',
      '.dockerignore': '*.tmp\n',
      'src/a.txt': 'alpha\n',
      'src/b.sh': '#!/bin/sh\n',
      'scratch.tmp': 'v1\n',
    });
    const base = await copyInputs(first);
    assert.match(base['COPY src /src'] ?? '', /^sha256:[0-9a-f]{64}$/);

    const clone = join(work.path, 'keys/clone');
    await cp(first, clone, { recursive: true });
    await utimes(join(clone, 'src/a.txt'), new Date('2000-01-01'), new Date('2000-01-01'));
    assert.deepEqual(await copyInputs(clone), base, 'other inodes and times, same keys');

    await writeFile(join(clone, 'scratch.tmp'), 'v2, ignored\n');
    assert.deepEqual(await copyInputs(clone), base, 'an ignored file does not count');

    await writeFile(join(clone, 'src/a.txt'), 'alphA\n');
    const byte = await copyInputs(clone);
    assert.notEqual(byte['COPY src /src'], base['COPY src /src']);
    assert.notEqual(byte['COPY . /all'], base['COPY . /all']);

    await chmod(join(clone, 'src/b.sh'), 0o755);
    const perm = await copyInputs(clone);
    assert.notEqual(perm['COPY src /src'], byte['COPY src /src']);
  });

  it('names an unreadable file or directory in its error', async () => {
    const dir = await context('unreadable', { Dockerfile: 'FROM scratch\nCOPY . /ctx/\n', 'ok.txt': 'ok', 'secret.txt': 's', 'locked/x': 'x' });
    await chmod(join(dir, 'secret.txt'), 0o000);
    const nobodyRoot = join(work.path, 'nobody-root');
    await mkdir(nobodyRoot, { mode: 0o777 });
    await chmod(nobodyRoot, 0o777);
    const asNobody = (args: string[]): Promise<CliResult> =>
      run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(projectRoot, 'bin/tsbuild'), ...args], {
        env: { ...process.env, TSBUILD_ROOT: nobodyRoot, NO_COLOR: '1' },
      });
    const plan = await asNobody(['plan', dir]);
    assert.equal(plan.code, 1, plan.stderr);
    assert.equal(lastLine(plan), 'error: cannot read secret.txt in the build context: permission denied');

    await chmod(join(dir, 'secret.txt'), 0o644);
    await chmod(join(dir, 'locked'), 0o000);
    const list = await asNobody(['context', dir, '--list']);
    assert.equal(list.code, 1);
    assert.equal(lastLine(list), 'error: cannot read locked in the build context: permission denied');
    // inside an ignored directory, an unreadable part is skipped, as BuildKit does
    await writeFile(join(dir, '.dockerignore'), 'locked\n!locked/x\n');
    const ignored = await asNobody(['context', dir, '--list']);
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.equal(ignored.stdout, '.dockerignore\nDockerfile\nok.txt\nsecret.txt\n');
  });

  /** `tar -tv` of every layer of the one image in an OCI layout. */
  async function layerListing(layout: string): Promise<string> {
    const blob = (d: string): string => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as { layers: { digest: string }[] };
    let out = '';
    for (const layer of manifest.layers) out += await mustRun('tar', ['-tvzf', blob(layer.digest)]);
    return out;
  }
});

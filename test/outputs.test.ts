import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run, tempDir, tsbuild, type CliResult } from './helpers/tsbuild.ts';

/** `-o/--output` and `--compression` through the CLI, on a FROM scratch image (no container needed). */
describe('build outputs', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let ctx: string;
  const out = (name: string): string => join(work.path, 'out', name);

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    ctx = join(work.path, 'ctx');
    await mkdir(join(ctx, 'sub'), { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY . /app/\nENV A=1\n');
    await writeFile(join(ctx, 'hello.txt'), 'hello\n');
    await writeFile(join(ctx, 'sub', 'deep.txt'), 'deep\n');
  });
  after(async () => work.cleanup());

  function ok(r: CliResult): CliResult {
    assert.equal(r.code, 0, r.stderr);
    return r;
  }

  it('writes docker, oci and local outputs at once, with zstd layers', async () => {
    const r = ok(
      await tsbuild(root, [
        'build', '-t', 'outputs:1', '--compression', 'zstd',
        '-o', `type=docker,dest=${out('img.tar')}`,
        '-o', `type=oci,dest=${out('layout')},tar=false`,
        '-o', `type=local,dest=${out('fs')}`,
        ctx,
      ]),
    );
    const digest = r.stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${out('layout')}:1`])).stdout) as { layers: { mediaType: string }[] };
    assert.deepEqual(raw.layers.map((l) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar+zstd']);
    const viaDocker = await run('skopeo', ['inspect', `docker-archive:${out('img.tar')}`]);
    assert.equal(viaDocker.code, 0, viaDocker.stderr);
    const viaOci = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${out('img.tar')}:1`])).stdout) as { Digest: string };
    assert.equal(viaOci.Digest, digest);
    assert.equal(readFileSync(join(out('fs'), 'app', 'sub', 'deep.txt'), 'utf8'), 'deep\n');
  });

  it('-o - writes the filesystem tar to stdout and the digest to stderr', async () => {
    const r = ok(await run('sh', ['-c', `'${join(process.cwd(), 'bin/tsbuild')}' build -o - '${ctx}' > '${out('fs.tar')}'`], { env: { ...process.env, TSBUILD_ROOT: root } }));
    assert.match(r.stderr, /sha256:[0-9a-f]{64}\n$/);
    const listing = (await run('tar', ['-tf', out('fs.tar')])).stdout.split('\n');
    assert.ok(listing.includes('app/hello.txt'), listing.join(' '));
  });

  it('bad output specs and compression names are one-line errors, and nothing is written', async () => {
    for (const args of [
      ['-o', `type=oci,dest=${out('bad')},tar=maybe`],
      ['-o', `type=local,dest=${out('bad')},name=x`],
      ['--compression', 'lz4', '-o', `type=local,dest=${out('bad')}`],
      ['--compression', 'gzip', '--compression-level', '12', '-o', `type=local,dest=${out('bad')}`],
    ]) {
      const r = await tsbuild(root, ['build', ...args, ctx]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr.trimEnd().split('\n').at(-1) ?? '', /^error: (invalid --output|unknown compression|invalid gzip compression level)/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    assert.ok(!existsSync(out('bad')));
  });
});

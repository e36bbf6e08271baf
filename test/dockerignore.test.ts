import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

/** Paths in an image's layers (directories without their trailing `/`), from an OCI layout with one image. */
async function layerPaths(layout: string, under: string): Promise<string[]> {
  const blob = (d: string): string => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as { layers: { digest: string }[] };
  const paths: string[] = [];
  for (const layer of manifest.layers) paths.push(...(await mustRun('tar', ['-tzf', blob(layer.digest)])).split('\n'));
  return paths
    .filter((p) => p.startsWith(`${under}/`) && p !== `${under}/`)
    .map((p) => p.slice(under.length + 1).replace(/\/$/, ''))
    .sort();
}

/** `tsbuild context` and builds honouring .dockerignore, through the CLI. */
describe('.dockerignore', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let app: string;

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    app = join(work.path, 'app');
    await cp(fixture('context', 'app'), app, { recursive: true });
    // names the repository's .gitignore would keep out of the fixture
    await writeFile(join(app, 'src', 'debug.log'), 'log\n');
    await writeFile(join(app, 'src', 'trace.tmp'), 'tmp\n');
  });
  after(async () => work.cleanup());

  const expected = ['.dockerignore', 'Dockerfile', 'app.Dockerfile', 'app.Dockerfile.dockerignore', 'docs', 'docs/README.md', 'keep.tmp', 'src', 'src/debug.log', 'src/main.c', 'src/util', 'src/util/strings.c'];

  it('--list prints every path in the context, sorted', async () => {
    const r = await tsbuild(root, ['context', app, '--list']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').slice(0, -1), expected);
  });

  it('--explain names the deciding pattern with its file and line', async () => {
    const explain = async (path: string): Promise<string> => {
      const r = await tsbuild(root, ['context', app, '--explain', path]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trimEnd();
    };
    assert.equal(await explain('src/trace.tmp'), 'src/trace.tmp: not in the context: excluded by .dockerignore:3: **/*.tmp');
    assert.equal(await explain('keep.tmp'), 'keep.tmp: in the context: re-included by .dockerignore:4: !keep.tmp');
    assert.equal(await explain('secret.env'), 'secret.env: not in the context: excluded by .dockerignore:5: secret.env');
    assert.equal(await explain('build/out.bin'), 'build/out.bin: not in the context: its directory build is excluded by .dockerignore:2: build, and no exception pattern reaches inside it');
    assert.equal(await explain('docs/internal.md'), 'docs/internal.md: not in the context: excluded by .dockerignore:7: docs');
    assert.equal(await explain('docs/README.md'), 'docs/README.md: in the context: re-included by .dockerignore:8: !docs/README.md');
    assert.equal(await explain('src/main.c'), 'src/main.c: in the context: no pattern in .dockerignore matches it');
  });

  it('-f picks <Dockerfile>.dockerignore over .dockerignore', async () => {
    const r = await tsbuild(root, ['context', app, '-f', join(app, 'app.Dockerfile'), '--list']);
    assert.equal(r.code, 0, r.stderr);
    const listed = r.stdout.split('\n').slice(0, -1);
    assert.ok(listed.includes('secret.env') && listed.includes('build/out.bin') && listed.includes('src/trace.tmp'));
    assert.ok(!listed.some((p) => p.startsWith('docs')));
    const explained = await tsbuild(root, ['context', app, '-f', join(app, 'app.Dockerfile'), '--explain', 'docs']);
    assert.equal(explained.stdout, 'docs: not in the context: excluded by app.Dockerfile.dockerignore:1: docs\n');
  });

  it('a build copies exactly what --list shows', async () => {
    const layout = join(work.path, 'layout');
    const r = await tsbuild(root, ['build', '-o', `type=oci,dest=${layout},tar=false`, app]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await layerPaths(layout, 'ctx'), expected);
  });

  it('a build with -f uses that Dockerfile\'s ignore file', async () => {
    const layout = join(work.path, 'layout-f');
    const r = await tsbuild(root, ['build', '-f', join(app, 'app.Dockerfile'), '-o', `type=oci,dest=${layout},tar=false`, app]);
    assert.equal(r.code, 0, r.stderr);
    const paths = await layerPaths(layout, 'ctx');
    assert.ok(paths.includes('secret.env'));
    assert.ok(!paths.includes('docs'));
  });

  it('a bad pattern fails with the file and line, before anything runs', async () => {
    const bad = join(work.path, 'bad');
    await cp(app, bad, { recursive: true });
    await writeFile(join(bad, '.dockerignore'), 'build\nsrc/[\n');
    for (const args of [['context', bad, '--list'], ['build', bad]]) {
      const r = await tsbuild(root, args);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trimEnd().split('\n').pop(), 'error: .dockerignore:2:1: bad pattern "src/[": syntax error in pattern');
    }
    // Go's filepath.Match accepts a reversed range, its regexp does not: the error comes when the pattern is used
    await writeFile(join(bad, '.dockerignore'), '# reversed\n[z-a]x\n');
    const r = await tsbuild(root, ['context', bad, '--list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: \.dockerignore:2:1: bad pattern "\[z-a\]x": syntax error in pattern: invalid regexp .*invalid character class range/m);
  });
});

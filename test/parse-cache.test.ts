import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir, tsbuild } from './helpers/tsbuild.ts';

/** The bundled tsbuild keeps parsed Dockerfiles (src/build/parse-cache.ts); what a build does must never depend on it. */
describe('the parse cache', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let ctx: string;
  const entries = async (): Promise<string[]> => (await readdir(join(root, 'cache', 'parsed')).catch(() => [])).filter((n) => n.endsWith('.json'));
  const build = async (dockerfile: string): Promise<{ code: number; digest: string; stderr: string }> => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const r = await tsbuild(root, ['build', '-q', ctx]);
    return { code: r.code, digest: r.stdout.trim(), stderr: r.stderr };
  };

  before(async () => {
    work = await tempDir('tsbuild-parse-cache-');
    root = join(work.path, 'root');
    ctx = join(work.path, 'ctx');
    await mkdir(ctx);
  });
  after(() => work.cleanup());

  it('parses each text once, and builds what the text says', async () => {
    const one = await build('FROM scratch\nLABEL v=1\n');
    assert.equal(one.code, 0, one.stderr);
    assert.equal((await entries()).length, 1);
    assert.equal((await build('FROM scratch\nLABEL v=1\n')).digest, one.digest);
    assert.equal((await entries()).length, 1, 'the same text is not parsed again');
    const two = await build('FROM scratch\nLABEL v=2\n');
    assert.notEqual(two.digest, one.digest, 'a changed text is parsed, not taken for the old one');
    assert.equal((await entries()).length, 2);
    assert.equal((await build('FROM scratch\nLABEL v=1\n')).digest, one.digest);
  });

  it('parses again over an entry it cannot read, and never keeps a text that does not parse', async () => {
    for (const name of await entries()) await writeFile(join(root, 'cache', 'parsed', name), '{"torn');
    const again = await build('FROM scratch\nLABEL v=1\n');
    assert.equal(again.code, 0, again.stderr);
    const before = (await entries()).length;
    const broken = await build('FROM scratch\nLABEL\n');
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /Dockerfile:2:\d+/);
    assert.equal((await entries()).length, before);
  });
});

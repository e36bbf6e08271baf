import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

/**
 * A COPY run again after some of its sources changed hard-links the
 * unchanged files from its previous snapshot (src/executor/copy-reuse.ts):
 * the image must be exactly what a build from nothing makes.
 */
describe('COPY reusing its previous run', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let ctx: string;
  const env = { SOURCE_DATE_EPOCH: '0' };
  const build = async (root: string, extra: string[] = []): Promise<string> => {
    const r = await tsbuild(join(work.path, root), ['build', '-q', ...extra, ctx], { env });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  /** The diff IDs of an image in a root's store. */
  const diffIds = async (root: string, digest: string): Promise<string[]> => {
    const blob = (d: string): string => join(work.path, root, 'blobs', 'sha256', d.slice('sha256:'.length));
    const manifest = JSON.parse(await readFile(blob(digest), 'utf8')) as { config: { digest: string } };
    return (JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
  };

  before(async () => {
    work = await tempDir('tsbuild-copy-reuse-');
    ctx = join(work.path, 'ctx');
    await mkdir(join(ctx, 'src', 'sub'), { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY src /app/\n');
    for (let i = 0; i < 20; i++) await writeFile(join(ctx, 'src', i % 2 ? 'sub' : '', `f${i}.txt`), `file ${i}\n`);
    await build('root');
    // the stat cache trusts no file younger than its racy window
    await new Promise((ok) => setTimeout(ok, 2100));
    await build('root');
  });
  after(() => work.cleanup());

  it('links the unchanged files, copies the changed ones, and gives the image a build from nothing gives', async () => {
    await writeFile(join(ctx, 'src', 'f0.txt'), 'changed\n');
    await chmod(join(ctx, 'src', 'sub', 'f1.txt'), 0o600);
    const rebuilt = await build('root');
    const fresh = await build('fresh', ['--no-cache']);
    assert.deepEqual(await diffIds('root', rebuilt), await diffIds('fresh', fresh));

    const snapshots = join(work.path, 'root', 'snapshots');
    const copies = (await readdir(snapshots)).filter((id) => id.startsWith('s'));
    const links = async (rel: string): Promise<number[]> =>
      Promise.all(copies.map(async (id) => (await stat(join(snapshots, id, 'app', rel)).catch(() => undefined))?.nlink ?? 0));
    assert.ok((await links('f2.txt')).some((n) => n >= 2), 'an unchanged file is one inode in both snapshots');
    assert.ok((await links('f0.txt')).every((n) => n <= 1), 'the changed file is a copy of its own');
    assert.ok((await links('sub/f1.txt')).every((n) => n <= 1), 'a file whose mode changed is a copy of its own');
  });

  it('copies afresh under --no-cache: nothing an earlier run made stands in for the work', async () => {
    await build('root', ['--no-cache']);
    const snapshots = join(work.path, 'root', 'snapshots');
    const dirs = await Promise.all((await readdir(snapshots)).map(async (id) => ({ id, at: (await stat(join(snapshots, id))).mtimeMs })));
    const newest = dirs.filter((d) => d.id.startsWith('s')).sort((a, b) => b.at - a.at)[0];
    assert.equal((await stat(join(snapshots, newest?.id as string, 'app', 'f2.txt'))).nlink, 1);
  });

  it('puts the new content and mode in the image', async () => {
    const out = join(work.path, 'out');
    const r = await tsbuild(join(work.path, 'root'), ['build', '-q', '-o', `type=local,dest=${out}`, ctx], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(out, 'app', 'f0.txt'), 'utf8'), 'changed\n');
    assert.equal((await stat(join(out, 'app', 'sub', 'f1.txt'))).mode & 0o777, 0o600);
    assert.equal(await readFile(join(out, 'app', 'f2.txt'), 'utf8'), 'file 2\n');
    await mustRun('test', ['-f', join(out, 'app', 'sub', 'f19.txt')]);
  });
});

import assert from 'node:assert/strict';
import { lstat, readFile, readlink, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, fixture, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

/** Builds fixtures/copy over a fresh busybox base and unpacks the image: its rootfs path. */
async function buildCopyFixture(work: { path: string }): Promise<string> {
  const root = join(work.path, 'root');
  await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
  const layout = join(work.path, 'layout');
  const r = await tsbuild(root, ['build', '-f', fixture('copy', 'Dockerfile'), '-t', 'tsbuild.test/copy:1', '-o', `type=oci,dest=${layout},tar=false`, fixture('copy', 'ctx')]);
  assert.equal(r.code, 0, r.stderr);
  await mustRun('umoci', ['unpack', '--image', `${layout}:1`, join(work.path, 'bundle')]);
  return join(work.path, 'bundle/rootfs');
}

describe('COPY and ADD', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let rootfs: string;

  before(async () => {
    work = await tempDir();
    rootfs = await buildCopyFixture(work);
  });
  after(async () => work.cleanup());

  const text = (p: string): Promise<string> => readFile(join(rootfs, p), 'utf8');

  it('copies several sources into a directory destination relative to WORKDIR', async () => {
    assert.deepEqual((await readdir(join(rootfs, 'w/multi'))).sort(), ['one.txt', 'two.txt']);
  });

  it('expands wildcards', async () => {
    assert.deepEqual((await readdir(join(rootfs, 'glob'))).sort(), ['one.txt', 'two.txt']);
  });

  it('copies the contents of a directory, not the directory', async () => {
    assert.deepEqual((await readdir(join(rootfs, 'contents-of-dir'))).sort(), ['sub', 'top.md']);
    assert.equal(await text('contents-of-dir/sub/nested.txt'), 'nested\n');
    assert.deepEqual((await readdir(join(rootfs, 'logs-dir'))).sort(), ['a.log', 'b.log']);
  });

  it('renames a single file to a destination without a trailing slash', async () => {
    assert.equal(await text('renamed.md'), 'top\n');
  });

  it('resolves --chown names in the image and applies numeric ids', async () => {
    const owned = await stat(join(rootfs, 'owned/one.txt'));
    assert.deepEqual([owned.uid, owned.gid], [1234, 1234]);
    const numeric = await stat(join(rootfs, 'owned-numeric.txt'));
    assert.deepEqual([numeric.uid, numeric.gid], [1234, 1234]);
    const plain = await stat(join(rootfs, 'renamed.md'));
    assert.deepEqual([plain.uid, plain.gid], [0, 0]);
  });

  it('applies --chmod', async () => {
    assert.equal((await stat(join(rootfs, 'private.txt'))).mode & 0o7777, 0o600);
  });

  it('copies symlinks inside a copied directory as links, never their targets', async () => {
    assert.equal(await readlink(join(rootfs, 'copied-links/host-passwd')), '/etc/passwd');
    assert.equal(await readlink(join(rootfs, 'copied-links/to-one')), '../one.txt');
  });

  it('follows a symlink named as the source, inside the context, as BuildKit does', async () => {
    assert.equal(await text('followed.txt'), 'one\n');
  });

  it('writes through symlinks in the image only inside the image', async () => {
    assert.equal(await text('tmp/through-link.txt'), 'one\n');
    assert.equal(await text('tmp/escape-attempt.txt'), 'two\n');
    assert.ok((await lstat(join(rootfs, 'link-to-tmp'))).isSymbolicLink(), 'the link itself is untouched');
    await assert.rejects(stat('/tmp/escape-attempt.txt'), { code: 'ENOENT' });
  });

  it('merges a copied directory into the one the image has; a copied file or directory replaces a different kind of entry', async () => {
    assert.deepEqual((await readdir(join(rootfs, 'merge'))).sort(), ['dir-then-file', 'file-then-dir', 'keep.txt', 'sub']);
    assert.equal(await text('merge/keep.txt'), 'keep\n');
    assert.deepEqual((await readdir(join(rootfs, 'merge/sub'))).sort(), ['new.txt', 'old.txt']);
    assert.equal(await text('merge/file-then-dir/x.txt'), 'x\n');
    assert.equal(await text('merge/dir-then-file'), 'now-a-file\n');
  });

  it('copies several sources into one directory, a later one replacing what an earlier one put there', async () => {
    const sources = [...(await readdir(fixture('copy', 'ctx', 'dir'))), ...(await readdir(fixture('copy', 'ctx', 'merge')))];
    assert.deepEqual((await readdir(join(rootfs, 'twice'))).sort(), [...new Set(sources)].sort());
    assert.deepEqual((await readdir(join(rootfs, 'twice', 'sub'))).sort(), [...new Set([...(await readdir(fixture('copy', 'ctx', 'dir', 'sub'))), 'new.txt'])].sort());
    assert.equal(await text('twice/top.md'), await readFile(fixture('copy', 'ctx', 'dir', 'top.md'), 'utf8'));
  });

  it('copies from an earlier stage', async () => {
    assert.equal(await text('from-stage.txt'), 'from-build-stage\n');
  });

  it('ADD extracts a local gzip tar archive', async () => {
    assert.equal(await text('extracted/pkg/packed.txt'), 'packed\n');
  });

  it('--exclude leaves out what its patterns match', async () => {
    assert.deepEqual((await readdir(join(rootfs, 'excluded'))).sort(), ['top.md']);
  });

  it('--parents keeps the source directories, from the ./ pivot on', async () => {
    assert.equal(await readFile(join(rootfs, 'with-parents/dir/sub/nested.txt'), 'utf8'), 'nested\n');
    assert.equal(await readFile(join(rootfs, 'with-parents/logs/a.log'), 'utf8'), 'a\n');
    assert.equal(await readFile(join(rootfs, 'pivot/sub/nested.txt'), 'utf8'), 'nested\n');
  });

  it('--chmod takes symbolic modes (X: execute for directories)', async () => {
    assert.equal((await stat(join(rootfs, 'symbolic/top.md'))).mode & 0o7777, 0o644);
    assert.equal((await stat(join(rootfs, 'symbolic/sub'))).mode & 0o7777, 0o755);
  });

  it('--link copies into a layer of its own', async () => {
    assert.equal(await readFile(join(rootfs, 'linked/one.txt'), 'utf8'), 'one\n');
  });

  it('heredoc sources become files, expanded unless the delimiter is quoted', async () => {
    assert.equal(await readFile(join(rootfs, 'inline.txt'), 'utf8'), 'inline no host \n');
    assert.equal(await readFile(join(rootfs, 'inline-literal.txt'), 'utf8'), '$HOME stays\n');
  });

  it('--from an image copies from that image', async () => {
    assert.ok((await stat(join(rootfs, 'from-image/busybox'))).size > 100_000);
  });
});

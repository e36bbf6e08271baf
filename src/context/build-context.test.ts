/**
 * The build context on real trees: selection (wildcards, symlinks, escapes,
 * ignore rules with fsutil's walk semantics), digests (what changes them and
 * what does not), special files, and the stat cache across builds.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { chmod, cp, link, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../errors.ts';
import { BuildContext } from './build-context.ts';
import { explainPath } from './explain.ts';

const where = { file: 'Dockerfile', line: 3, column: 1 };

type Spec = Record<string, string | { link: string } | { dir: true }>;

async function writeTree(root: string, spec: Spec): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [rel, what] of Object.entries(spec)) {
    const path = join(root, rel);
    await mkdir(dirname(path), { recursive: true });
    if (typeof what === 'string') await writeFile(path, what);
    else if ('link' in what) await symlink(what.link, path);
    else await mkdir(path, { recursive: true });
  }
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-context-'));
});
after(async () => rm(work, { recursive: true, force: true }));

let n = 0;
async function context(spec: Spec, opts: { root?: string } = {}): Promise<{ dir: string; ctx: BuildContext }> {
  const dir = join(work, `ctx${n++}`);
  await writeTree(dir, spec);
  const ctx = await BuildContext.open(dir, opts);
  return { dir, ctx };
}

async function selected(ctx: BuildContext, sources: string[]): Promise<string[]> {
  return (await ctx.select(sources, where)).map((s) => (s.entries ? `${s.rel}/ [${s.entries.join(' ')}]` : s.rel));
}

async function digestOf(dir: string, sources = ['.']): Promise<string> {
  const ctx = await BuildContext.open(dir);
  try {
    return await ctx.digest(await ctx.select(sources, where));
  } finally {
    await ctx.close();
  }
}

function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, pattern);
    assert.deepEqual(e.location, where);
    return true;
  });
}

describe('selecting COPY sources', () => {
  it('selects files, directories with their content, and wildcard matches in walk order', async () => {
    const { ctx } = await context({ 'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', 'src/x.ts': 'x', 'src/sub/y.ts': 'y', 'src2/z.ts': 'z' });
    assert.deepEqual(await selected(ctx, ['a.txt']), ['a.txt']);
    assert.deepEqual(await selected(ctx, ['src']), ['src/ [sub sub/y.ts x.ts]']);
    assert.deepEqual(await selected(ctx, ['*.txt', 'src/*/y.ts']), ['a.txt', 'b.txt', 'src/sub/y.ts']);
    assert.deepEqual(await selected(ctx, ['src*']), ['src/ [sub sub/y.ts x.ts]', 'src2/ [z.ts]']);
    assert.deepEqual(await selected(ctx, ['./src/../a.txt']), ['a.txt']);
  });

  it('reports a missing source, a bad wildcard and an empty wildcard match', async () => {
    const { ctx } = await context({ 'a.txt': 'a' });
    await rejectsWith(ctx.select(['nothere.txt'], where), /^COPY failed: file not found in build context: nothere\.txt$/);
    await rejectsWith(ctx.select(['*.md'], where), /file not found in build context: \*\.md/);
    await rejectsWith(ctx.select(['a[.txt'], where), /bad wildcard pattern in a\[\.txt/);
  });

  it('refuses sources outside the context instead of clamping them', async () => {
    const { ctx } = await context({ 'x': 'inside', 'etc/passwd': 'not the host one' });
    await rejectsWith(ctx.select(['../x'], where), /COPY failed: \.\.\/x is outside the build context/);
    await rejectsWith(ctx.select(['a/../../x'], where), /outside the build context/);
    await rejectsWith(ctx.select(['/etc/passwd'], where), /COPY failed: \/etc\/passwd is outside the build context/);
  });

  it('selects a symlink as a link and never follows it out of the context', async () => {
    const outside = join(work, 'outside-secret');
    await writeFile(outside, 'secret');
    const { ctx } = await context({ passwd: { link: '/etc/passwd' }, out: { link: outside }, 'etc/hosts': 'ctx hosts' });
    const [sel] = await ctx.select(['passwd'], where);
    assert.deepEqual(sel, { rel: 'passwd', isDir: false });
    // a parent component that is a link resolves inside the context: /etc here is <ctx>/etc
    await symlink('/etc', join(ctx.dir, 'sys'));
    assert.deepEqual(await selected(ctx, ['sys/hosts']), ['etc/hosts']);
    await rejectsWith(ctx.select(['sys/passwd'], where), /file not found in build context: sys\/passwd/);
    await symlink('../../..', join(ctx.dir, 'up'));
    assert.deepEqual(await selected(ctx, ['up/etc/hosts']), ['etc/hosts']);
    await rejectsWith(ctx.select(['out/x'], where), /file not found/);
  });

  it('never walks into a linked directory', async () => {
    const { ctx } = await context({ 'real/f': 'f', linked: { link: 'real' } });
    assert.deepEqual(await selected(ctx, ['.']), ['./ [linked real real/f]']);
    assert.deepEqual(await selected(ctx, ['*/f']), ['real/f']);
  });
});

describe('.dockerignore in selection', () => {
  it('leaves ignored paths out, also inside selected directories, and says which line hid a named one', async () => {
    const { ctx } = await context({
      '.dockerignore': '# junk\nnode_modules\n**/*.log\n!keep.log\nsecret.txt\n',
      'a.txt': 'a',
      'keep.log': 'kept',
      'secret.txt': 's',
      'src/x.ts': 'x',
      'src/debug.log': 'd',
      'node_modules/m/index.js': 'm',
    });
    assert.deepEqual(await selected(ctx, ['.']), ['./ [.dockerignore a.txt keep.log src src/x.ts]']);
    assert.deepEqual(await selected(ctx, ['*.log', 'src']), ['keep.log', 'src/ [x.ts]']);
    await rejectsWith(ctx.select(['secret.txt'], where), /file not found in build context: secret\.txt \(excluded by \.dockerignore:5: secret\.txt\)/);
    await rejectsWith(ctx.select(['node_modules/m/index.js'], where), /\(its directory node_modules is excluded by \.dockerignore:2: node_modules\)/);
  });

  it('keeps an excluded directory as the parent of re-included entries', async () => {
    const { ctx } = await context({ '.dockerignore': 'docs\n!docs/README.md\n', 'docs/README.md': 'r', 'docs/other.md': 'o', 'docs/sub/x': 'x' });
    assert.deepEqual(await selected(ctx, ['.']), ['./ [.dockerignore docs docs/README.md]']);
    assert.deepEqual(await selected(ctx, ['docs']), ['docs/ [README.md]']);
    assert.deepEqual(await selected(ctx, ['docs/*']), ['docs/README.md']);
  });

  it('does not enter an excluded directory no plain exception reaches, as fsutil', async () => {
    // `!*/README.md` has a wildcard: every excluded directory is entered
    const wild = await context({ '.dockerignore': 'docs\n!*/README.md\n', 'docs/README.md': 'r', 'docs/x': 'x' });
    assert.deepEqual(await selected(wild.ctx, ['.']), ['./ [.dockerignore docs docs/README.md]']);
    // a plain exception elsewhere: `docs` is skipped whole, though docs/README.md alone would not be matched
    const plain = await context({ '.dockerignore': 'docs\n!other/README.md\n', 'docs/README.md': 'r' });
    assert.deepEqual(await selected(plain.ctx, ['.']), ['./ [.dockerignore]']);
    // `**` then `!util/docker/web` re-includes the directory with its content (cases.tsv, matches-multi)
    const buildx = await context({ '.dockerignore': '**\n!util/docker/web\n', 'util/docker/web/foo': 'f', 'util/other': 'o' });
    assert.deepEqual(await selected(buildx.ctx, ['.']), ['./ [util util/docker util/docker/web util/docker/web/foo]']);
  });

  it('uses the results of the parent directory, as a walk does', async () => {
    // matchesOrParentMatches would let `!d` re-include d/x through its parent; the walk does not
    const { ctx } = await context({ '.dockerignore': 'd/x\n!d\n', 'd/x': 'x', 'd/y': 'y' });
    assert.deepEqual(await selected(ctx, ['d']), ['d/ [y]']);
  });

  it('prefers <Dockerfile>.dockerignore beside the Dockerfile', async () => {
    const dir = join(work, 'per-dockerfile');
    await writeTree(dir, { '.dockerignore': 'a.txt\n', 'build/app.Dockerfile': 'FROM scratch\n', 'build/app.Dockerfile.dockerignore': 'b.txt\n', 'a.txt': 'a', 'b.txt': 'b' });
    const plain = await BuildContext.open(dir);
    assert.deepEqual(await selected(plain, ['*.txt']), ['b.txt']);
    const named = await BuildContext.open(dir, { dockerfile: join(dir, 'build/app.Dockerfile') });
    assert.equal(named.ignore?.displayName, 'build/app.Dockerfile.dockerignore');
    assert.deepEqual(await selected(named, ['*.txt']), ['a.txt']);
  });

  it('fails with file and line for a bad pattern', async () => {
    const dir = join(work, 'bad-pattern');
    await writeTree(dir, { '.dockerignore': 'ok\n\n  [a-\n', 'x': 'x' });
    await assert.rejects(BuildContext.open(dir), (e: unknown) => e instanceof UserError && e.format() === '.dockerignore:3:1: bad pattern "[a-": syntax error in pattern');
  });

  it('explains each decision with the deciding line', async () => {
    const { ctx } = await context({ '.dockerignore': 'node_modules\n**/*.log\n!keep.log\ndocs\n!docs/README.md\n', 'keep.log': 'k', 'a.log': 'a', 'x': 'x', 'node_modules/m/i.js': 'i', 'docs/README.md': 'r' });
    const say = (p: string): string => {
      const e = explainPath(ctx.tree, p);
      return `${e.path}: ${e.inContext ? 'in' : 'out'}: ${e.reason}`;
    };
    assert.equal(say('a.log'), 'a.log: out: excluded by .dockerignore:2: **/*.log');
    assert.equal(say('./keep.log'), 'keep.log: in: re-included by .dockerignore:3: !keep.log');
    assert.equal(say('x'), 'x: in: no pattern in .dockerignore matches it');
    assert.equal(say('node_modules/m/i.js'), 'node_modules/m/i.js: out: its directory node_modules is excluded by .dockerignore:1: node_modules, and no exception pattern reaches inside it');
    assert.equal(say('docs/'), 'docs: in: only as the directory of re-included entries: itself excluded by .dockerignore:4: docs');
    assert.equal(say('nope.log'), 'nope.log: out: no such file or directory (it would be excluded: excluded by .dockerignore:2: **/*.log)');
    assert.throws(() => explainPath(ctx.tree, '../x'), UserError);
  });
});

describe('content digests', () => {
  const tree: Spec = { 'a.txt': 'hello\n', 'bin/tool': '#!/bin/sh\n', 'link': { link: 'a.txt' }, 'empty/': { dir: true }, '.dockerignore': 'ignored.txt\n', 'ignored.txt': 'v1' };

  it('is the same for the same tree cloned twice, whatever the times and inodes', async () => {
    const one = join(work, 'clone1');
    await writeTree(one, tree);
    const two = join(work, 'clone2');
    await cp(one, two, { recursive: true, verbatimSymlinks: true });
    await utimes(join(two, 'a.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    assert.equal(await digestOf(one), await digestOf(two));
    assert.match(await digestOf(one), /^sha256:[0-9a-f]{64}$/);
  });

  it('changes with one byte, a permission bit or a link target, and not with an ignored file', async () => {
    const dir = join(work, 'digest-changes');
    await writeTree(dir, tree);
    const base = await digestOf(dir);
    await writeFile(join(dir, 'ignored.txt'), 'v2, longer');
    assert.equal(await digestOf(dir), base, 'an ignored file does not count');
    await writeFile(join(dir, 'a.txt'), 'hellO\n');
    const byte = await digestOf(dir);
    assert.notEqual(byte, base);
    await chmod(join(dir, 'a.txt'), 0o600);
    const perm = await digestOf(dir);
    assert.notEqual(perm, byte);
    await rm(join(dir, 'link'));
    await symlink('bin/tool', join(dir, 'link'));
    assert.notEqual(await digestOf(dir), perm);
  });

  it('counts which files are hard links of each other, since COPY keeps them linked', async () => {
    const dir = join(work, 'hardlinks');
    await writeTree(dir, { 'a.txt': 'same\n', 'b.txt': 'same\n' });
    const separate = await digestOf(dir);
    await rm(join(dir, 'b.txt'));
    await link(join(dir, 'a.txt'), join(dir, 'b.txt'));
    const linked = await digestOf(dir);
    assert.notEqual(linked, separate);
    const clone = join(work, 'hardlinks-clone');
    await cp(dir, clone, { recursive: true });
    assert.equal(await digestOf(clone), separate, 'a copy without the link is two files again');
  });

  it('covers only what the sources select, and their order', async () => {
    const dir = join(work, 'digest-selection');
    await writeTree(dir, { 'a.txt': 'a', 'b.txt': 'b' });
    const a = await digestOf(dir, ['a.txt']);
    await writeFile(join(dir, 'b.txt'), 'changed');
    assert.equal(await digestOf(dir, ['a.txt']), a);
    assert.notEqual(await digestOf(dir, ['a.txt', 'b.txt']), await digestOf(dir, ['b.txt', 'a.txt']));
  });

  it('does not read through a link to a file outside the context', async () => {
    const outside = join(work, 'outside-target');
    await writeFile(outside, 'one');
    const dir = join(work, 'digest-link-out');
    await writeTree(dir, { passwd: { link: '/etc/passwd' }, out: { link: outside } });
    const before = await digestOf(dir);
    await writeFile(outside, 'two, changed');
    assert.equal(await digestOf(dir), before);
  });

  it('takes sockets and devices as BuildKit sends them, and leaves FIFOs out', async () => {
    const dir = join(work, 'specials');
    await writeTree(dir, { 'f.txt': 'f' });
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    execFileSync('mknod', [join(dir, 'null'), 'c', '1', '3']);
    await chmod(join(dir, 'null'), 0o644);
    const server = createServer();
    await new Promise<void>((ok) => server.listen(join(dir, 'sock'), ok));
    let withSocket: string;
    try {
      const ctx = await BuildContext.open(dir);
      const sel = await ctx.select(['.'], where);
      assert.deepEqual(sel[0]?.entries, ['f.txt', 'null', 'sock']);
      withSocket = await ctx.digest(sel);
      await ctx.close();
    } finally {
      await new Promise((ok) => server.close(ok));
    }
    // a socket counts as an empty file with its permissions
    const perm = lstatSync(join(dir, 'sock'), { throwIfNoEntry: false })?.mode;
    await rm(join(dir, 'sock'), { force: true });
    await writeFile(join(dir, 'sock'), '');
    await chmod(join(dir, 'sock'), (perm ?? 0o755) & 0o7777);
    assert.equal(await digestOf(dir), withSocket);
    // a device's numbers count
    await rm(join(dir, 'null'));
    execFileSync('mknod', [join(dir, 'null'), 'c', '1', '5']);
    await chmod(join(dir, 'null'), 0o644);
    assert.notEqual(await digestOf(dir), withSocket);
  });
});

describe('the stat cache', () => {
  it('does not read unchanged files or directories again in the next build, and reads changed ones', async () => {
    const root = join(work, 'state');
    const dir = join(work, 'cached');
    const spec: Spec = { 'sub/a.txt': 'a\n' };
    for (let i = 0; i < 300; i++) spec[`f${i}.txt`] = `file ${i}\n`;
    await writeTree(dir, spec);
    const old = new Date(Date.now() - 60_000);
    for (const name of await readdir(dir)) await utimes(join(dir, name), old, old);
    // ctime cannot be set back: let the racy window pass
    await new Promise((r) => setTimeout(r, 2100));

    const build = async (): Promise<{ digest: string; hashed: number; listed: { read: number; reused: number } }> => {
      const ctx = await BuildContext.open(dir, { root });
      const digest = await ctx.digest(await ctx.select(['.'], where));
      const hashed = ctx.stats.filesHashed;
      await ctx.close();
      return { digest, hashed, listed: { ...ctx.tree.listed } };
    };
    const cold = await build();
    assert.equal(cold.hashed, 301, 'every file read once, by the worker pool');
    assert.deepEqual(cold.listed, { read: 2, reused: 0 });
    const warm = await build();
    assert.deepEqual(warm, { digest: cold.digest, hashed: 0, listed: { read: 0, reused: 2 } });
    await writeFile(join(dir, 'f7.txt'), 'file 8\n');
    const changed = await build();
    assert.equal(changed.hashed, 1);
    assert.notEqual(changed.digest, cold.digest);
    assert.deepEqual(changed.listed, { read: 0, reused: 2 }, 'a changed file leaves its directory as it was');

    // a name added to or removed from a directory changes the directory's stamp: it is read again
    await writeFile(join(dir, 'sub', 'b.txt'), 'b\n');
    const added = await build();
    assert.deepEqual(added.listed, { read: 1, reused: 1 });
    assert.equal(added.hashed, 2, 'the new file, and f7.txt: changed within the racy window of the last build');
    assert.notEqual(added.digest, changed.digest);
    await rm(join(dir, 'sub', 'b.txt'));
    const removed = await build();
    assert.equal(removed.digest, changed.digest);
    assert.deepEqual(removed.listed, { read: 1, reused: 1 }, 'a directory changed within the racy window is not remembered');
  });
});

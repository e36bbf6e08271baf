import assert from 'node:assert/strict';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pruneStore } from '../src/cache/gc.ts';
import { BASE, importBase, runBuild, writeFiles, type Built } from './cache-support.ts';
import { tempDir } from './helpers/tsbuild.ts';

describe('the fast path of a rebuild with nothing changed (the build memo)', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let ctx: string;
  let first: Built;
  const historyMtime = async (): Promise<number> => {
    const dir = join(root, 'cache', 'builds');
    const name = (await readdir(dir).catch(() => [])).find((n) => n.endsWith('.json'));
    return name === undefined ? -1 : (await stat(join(dir, name))).mtimeMs;
  };
  /** Past the stat cache's racy window: a build leaves no memo while a context file changed less than 2 s before it. */
  const settle = (): Promise<unknown> => new Promise((ok) => setTimeout(ok, 2100));
  /** A rebuild, and whether the memo answered it (the full path rewrites the build history; a replay does not). */
  const rebuild = async (opts: Parameters<typeof runBuild>[2] = {}): Promise<Built & { replayed: boolean }> => {
    const before = await historyMtime();
    await new Promise((ok) => setTimeout(ok, 20));
    const b = await runBuild(root, ctx, { explain: false, ...opts });
    return { ...b, replayed: (await historyMtime()) === before };
  };

  before(async () => {
    work = await tempDir('tsbuild-cache-memo-');
    root = join(work.path, 'root');
    ctx = join(work.path, 'ctx');
    await importBase(root, work.path);
    await writeFiles(ctx, {
      Dockerfile: `FROM ${BASE}\nARG V=1\nCOPY files /files\nCOPY *.txt /top/\nRUN ls -R /files /top > /listing && echo $V > /v\n`,
      'files/a': 'a\n',
      'files/sub/b': 'b\n',
      'one.txt': '1\n',
      'other/x': 'x\n',
    });
    await settle();
    first = await runBuild(root, ctx);
    assert.equal(first.ran.length, 3);
  });
  after(() => work.cleanup());

  it('answers the first rebuild after a build that ran its steps: same steps reported cached, same image', async () => {
    const b = await rebuild({ tags: ['tsbuild.test/memo:1'] });
    assert.equal(b.replayed, true);
    assert.deepEqual(b.ran, []);
    assert.equal(b.cached.length, 3);
    assert.equal(b.digest, first.digest);
    assert.ok(b.events.some((e) => e.type === 'info' && e.message === 'naming to tsbuild.test/memo:1'));
  });

  it('does not answer once a file, a new file, a build arg, the Dockerfile or a record changed', async () => {
    await writeFile(join(ctx, 'files', 'sub', 'b'), 'B\n');
    let b = await rebuild();
    assert.equal(b.replayed, false);
    assert.ok(b.ran.length > 0, 'a changed file (same size) is seen');

    await writeFile(join(ctx, 'files', 'sub', 'new'), 'new\n');
    b = await rebuild();
    assert.ok(b.ran.length > 0, 'a file added to a copied dir is seen');

    await writeFile(join(ctx, 'two.txt'), '2\n');
    b = await rebuild();
    assert.ok(b.ran.some((l) => l.includes('COPY *.txt')), 'a new match of a wildcard is seen');

    b = await rebuild({ buildArgs: new Map([['V', '2']]) });
    assert.equal(b.replayed, false);
    assert.ok(b.ran.some((l) => l.includes('RUN ls')));

    await writeFiles(ctx, { '.dockerignore': 'files/sub/new\n' });
    b = await rebuild({ buildArgs: new Map([['V', '2']]) });
    assert.equal(b.replayed, false, 'a new ignore file is seen');

    await pruneStore(root, { all: true });
    b = await rebuild({ buildArgs: new Map([['V', '2']]) });
    assert.equal(b.ran.length, 3, 'pruned records are not answered for');
  });

  it('a touched but unchanged file costs a full (cached) build, which leaves a new memo once the touch is past the racy window', async () => {
    await settle();
    await rebuild();
    assert.equal((await rebuild()).replayed, true);
    await utimes(join(ctx, 'one.txt'), new Date(), new Date());
    const touched = await rebuild();
    assert.equal(touched.replayed, false);
    assert.deepEqual(touched.ran, []);
    assert.equal((await rebuild()).replayed, false, 'no memo trusts a file changed within the racy window');
    await settle();
    await rebuild();
    assert.equal((await rebuild()).replayed, true);
  });

  it('replays what a fully cached build reports: a stage only read by a cached COPY --from is not listed', async () => {
    // a root of its own: the other cases tell a replay by the one build history in theirs
    const multiRoot = join(work.path, 'multi-root');
    await importBase(multiRoot, work.path);
    const multi = join(work.path, 'multi');
    await writeFiles(multi, { Dockerfile: `FROM ${BASE} AS src\nRUN echo built > /artifact\nFROM ${BASE}\nCOPY --from=src /artifact /artifact\nRUN cat /artifact\n` });
    await settle();
    const built = await runBuild(multiRoot, multi, { explain: false });
    assert.equal(built.ran.length, 3);
    const history = async (): Promise<number[]> => {
      const dir = join(multiRoot, 'cache', 'builds');
      return Promise.all((await readdir(dir)).map(async (n) => (await stat(join(dir, n))).mtimeMs));
    };
    const before = await history();
    const replay = await runBuild(multiRoot, multi, { explain: false });
    assert.deepEqual(await history(), before, 'answered by the memo: no build history written');
    // another label makes another memo input: the full path, every step a hit
    const full = await runBuild(multiRoot, multi, { explain: false, labels: new Map([['full', 'path']]) });
    assert.deepEqual(full.ran, []);
    assert.equal(replay.digest, built.digest);
    assert.deepEqual(replay.cached, ['[stage-1 1/2] COPY --from=src /artifact /artifact', '[stage-1 2/2] RUN cat /artifact']);
    assert.deepEqual(replay.cached, full.cached, 'the same lines as a fully cached build on the full path');
  });

  it('is not used for builds it cannot answer: outputs, --no-cache', async () => {
    assert.equal((await rebuild({ noCache: true })).replayed, false);
    assert.equal((await rebuild({ outputs: [{ type: 'local', dest: join(work.path, 'out') }] })).replayed, false);
  });
});

import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir, tsbuild } from './helpers/tsbuild.ts';

/**
 * A build that leaves a memo (or is answered by one) leaves its command
 * line's parsed flags behind; the same command line then skips the flag parser (see
 * src/cli/repeat-build.ts).
 */
describe('repeated build command lines', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let ctx: string;
  const records = async (): Promise<string[]> => {
    const dir = join(root, 'cache', 'memo', 'argv');
    return (await readdir(dir).catch(() => [])).map((n) => join(dir, n));
  };
  const build = (args: string[] = [], env: Record<string, string> = {}) => tsbuild(root, ['build', '-t', 'tsbuild.test/repeat:1', ...args, ctx], { env });

  before(async () => {
    work = await tempDir('tsbuild-repeat-');
    root = join(work.path, 'root');
    ctx = join(work.path, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /\n');
    await writeFile(join(ctx, 'a.txt'), 'a\n');
  });
  after(() => work.cleanup());

  it('remembers a command line once a build left a memo, and gives the same result from the record', async () => {
    const first = await build();
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await records(), [], 'files younger than the racy window leave no memo, so no record');
    // the stat cache trusts no file younger than its racy window: let the memo settle
    await new Promise((ok) => setTimeout(ok, 2100));
    const answered = await build();
    assert.equal(answered.stdout, first.stdout);
    assert.equal((await records()).length, 1, 'a build that leaves a memo remembers its command line');
    const repeated = await build();
    assert.equal(repeated.code, 0, repeated.stderr);
    assert.equal(repeated.stdout, first.stdout);
    assert.equal(repeated.stderr.replace(/ in \d+\.\d+s/, ''), answered.stderr.replace(/ in \d+\.\d+s/, ''));
  });

  it('runs the recorded flags: the record, not the parser, decides what the command does', async () => {
    const [file] = await records();
    const record = JSON.parse(await readFile(file as string, 'utf8')) as { argv: Record<string, unknown> };
    await writeFile(file as string, JSON.stringify({ ...record, argv: { ...record.argv, tag: ['tsbuild.test/from-record:1'], t: ['tsbuild.test/from-record:1'] } }));
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /naming to tsbuild\.test\/from-record:1/);
  });

  it('is not used for another command line, working directory or progress default', async () => {
    // the record of the plain command line now names from-record:1 (see above): these must not read it
    assert.match((await build(['--label', 'x=1'])).stderr, /naming to tsbuild\.test\/repeat:1/);
    assert.match((await build([], { TSBUILD_PROGRESS: 'plain' })).stderr, /naming to tsbuild\.test\/repeat:1/);
    const elsewhere = await tsbuild(root, ['build', '-t', 'tsbuild.test/repeat:1', '.'], { cwd: ctx });
    assert.match(elsewhere.stderr, /naming to tsbuild\.test\/repeat:1/);
  });

  it('keeps no record of a command line with a secret-looking build arg', async () => {
    const args = ['--build-arg', 'API_TOKEN=hunter2'];
    for (let i = 0; i < 3; i++) assert.equal((await build(args)).code, 0);
    for (const file of await records()) assert.doesNotMatch(await readFile(file, 'utf8'), /hunter2/);
  });

  it('finds the record of a command line that differs in build arg values only, and builds with the new values', async () => {
    const dir = join(work.path, 'args');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nARG V\nCOPY a.txt /v-$V.txt\n');
    await writeFile(join(dir, 'a.txt'), 'a\n');
    await new Promise((ok) => setTimeout(ok, 2100));
    const withV = (v: string) => tsbuild(root, ['build', '--build-arg', `V=${v}`, dir]);
    const known = new Set(await records());
    assert.equal((await withV('1')).code, 0);
    const made = (await records()).filter((f) => !known.has(f));
    assert.equal(made.length, 1, 'a build that leaves a memo remembers its command line');
    const file = made[0] as string;
    // a record the parser would not have written: its tag shows that the record ran the next build
    const record = JSON.parse(await readFile(file, 'utf8')) as { argv: Record<string, unknown> };
    await writeFile(file, JSON.stringify({ ...record, argv: { ...record.argv, tag: ['tsbuild.test/from-record:2'], t: ['tsbuild.test/from-record:2'] } }));
    const r = await withV('2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /naming to tsbuild\.test\/from-record:2/);
    assert.match(r.stderr, /COPY a\.txt \/v-2\.txt\n#\d+ DONE/, 'the new value is built');
    assert.deepEqual((await records()).filter((f) => !known.has(f)), [file], 'one record serves every value');
    assert.match((await tsbuild(root, ['build', '--build-arg', 'V', dir], { env: { V: '3' } })).stderr, /COPY a\.txt \/v-3\.txt\n#\d+ DONE/, 'a build arg from the environment is another command line');
  });

  it('still builds what changed: the record only skips parsing, the memo still decides', async () => {
    await writeFile(join(ctx, 'a.txt'), 'changed\n');
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /COPY a\.txt \/\n#\d+ DONE/);
  });
});

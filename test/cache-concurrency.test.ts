import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { doctor } from '../src/cache/doctor.ts';
import { BASE, importBase, writeFiles } from './cache-support.ts';
import { projectRoot, tempDir, tsbuild } from './helpers/tsbuild.ts';

const files = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`src/f${i}.txt`, `file ${i}\n`]));

describe('builds sharing one root: at the same time, and killed with kill -9', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;

  before(async () => {
    work = await tempDir('tsbuild-cache-conc-');
    root = join(work.path, 'root');
    await importBase(root, work.path);
  });
  after(() => work.cleanup());

  it('two identical builds at once both succeed, the work is done once (same random output), and doctor finds the store clean', async () => {
    const ctx = join(work.path, 'same');
    await writeFiles(ctx, { Dockerfile: `FROM ${BASE}\nCOPY src /src\nRUN head -c 32 /dev/urandom | od -x > /random && sleep 1\nRUN wc -c /random > /size\n`, ...files(20) });
    const [a, b] = await Promise.all([tsbuild(root, ['build', ctx]), tsbuild(root, ['build', ctx])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(a.stdout, b.stdout, 'one build ran the random step, the other waited and reused it');
    const report = await doctor(root, { repair: false });
    assert.deepEqual(report.problems, []);
  });

  it('two different builds at once both succeed and leave a clean store', async () => {
    const one = join(work.path, 'one');
    const two = join(work.path, 'two');
    await writeFiles(one, { Dockerfile: `FROM ${BASE}\nRUN echo one > /one && sleep 1\nCOPY . /ctx\n`, 'x.txt': 'one\n' });
    await writeFiles(two, { Dockerfile: `FROM ${BASE}\nRUN echo two > /two && sleep 1\nCOPY . /ctx\n`, 'x.txt': 'two\n' });
    const [a, b] = await Promise.all([tsbuild(root, ['build', one]), tsbuild(root, ['build', two])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.notEqual(a.stdout, b.stdout);
    assert.deepEqual((await doctor(root, { repair: false })).problems, []);
  });

  it('a build killed with kill -9 at random points leaves a store doctor repairs, and the next build succeeds', async () => {
    const ctx = join(work.path, 'killed');
    await writeFiles(ctx, {
      Dockerfile: `FROM ${BASE}\nWORKDIR /app\nCOPY src ./src\nRUN head -c 3000000 /dev/urandom > big && sleep 0.2\nCOPY x.txt ./\nRUN sleep 0.3 && cat x.txt > y.txt\nRUN test -s big && test -s y.txt\n`,
      'x.txt': 'x\n',
      ...files(300),
    });
    // a fixed sequence, so a failure can be replayed; spread over start-up, COPY, RUN and layer writing
    const delays = [350, 900, 1500, 2300, 650];
    const repaired: string[] = [];
    for (const delay of delays) {
      const child = spawn(join(projectRoot, 'bin/tsbuild'), ['build', '--no-cache', ctx], { env: { ...process.env, TSBUILD_ROOT: root }, stdio: 'ignore' });
      const exited = new Promise((ok) => child.once('exit', ok));
      await sleep(delay);
      child.kill('SIGKILL');
      await exited;
      repaired.push(...(await doctor(root)).problems);
      assert.deepEqual((await doctor(root, { repair: false })).problems, [], `after the kill at ${delay} ms, doctor repaired: ${repaired.join('; ')}`);
    }
    assert.ok(repaired.some((p) => p.includes('session(s) of dead builds')), 'some kill landed while a build was running');
    const r = await tsbuild(root, ['build', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await doctor(root, { repair: false })).problems, []);
  });
});

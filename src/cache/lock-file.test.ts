import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isLocked, lock, tryLock } from './lock-file.ts';
import { joinStore, lockStore } from './store-lock.ts';

describe('lock files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-lock-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('excludes a second holder, in this process too, until released', async () => {
    const path = join(dir, 'a');
    const first = await tryLock(path);
    assert.ok(first);
    assert.equal(await tryLock(path), undefined);
    assert.equal(await isLocked(path), true);
    let waited = false;
    const second = lock(path, { onWait: () => (waited = true) });
    await new Promise((ok) => setTimeout(ok, 50));
    await first.release();
    const got = await second;
    assert.equal(waited, true);
    await got.release();
    assert.equal(await isLocked(path), false);
  });

  it('takes over a lock whose owner died', async () => {
    const path = join(dir, 'dead');
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const pid = child.pid as number;
    await new Promise((ok) => child.once('exit', ok));
    await writeFile(path, JSON.stringify({ pid, start: '1' }));
    assert.equal(await isLocked(path), false);
    const held = await tryLock(path);
    assert.ok(held);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, process.pid);
    await held.release();
  });

  it('keeps builds and garbage collection apart', async () => {
    const root = join(dir, 'store');
    let builds = 0;
    const liveBuilds = async (): Promise<number> => builds;
    const register = async (): Promise<void> => void builds++;
    const withdraw = async (): Promise<void> => void builds--;
    await joinStore(root, register, withdraw);
    assert.equal(await lockStore(root, { wait: false, liveBuilds }), undefined, 'a running build keeps GC out');
    builds = 0;
    const gc = await lockStore(root, { wait: false, liveBuilds });
    assert.ok(gc);
    let joined = false;
    let waited = false;
    const joining = joinStore(root, register, withdraw, () => (waited = true)).then(() => (joined = true));
    await new Promise((ok) => setTimeout(ok, 250));
    assert.equal(joined, false, 'a build waits while GC holds the store');
    assert.equal(builds, 0, 'and is not counted meanwhile');
    await gc.release();
    await joining;
    assert.equal(waited, true);
    assert.equal(builds, 1);
  });
});

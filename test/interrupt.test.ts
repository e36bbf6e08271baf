import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, mustRun, projectRoot, tempDir, tsbuild } from './helpers/tsbuild.ts';

/** Starts a build in the background and resolves once its RUN step has started. */
async function startLongBuild(root: string, ctx: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(join(projectRoot, 'bin/tsbuild'), ['build', ctx], {
    env: { ...process.env, TSBUILD_ROOT: root },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
  await new Promise<void>((ok, fail) => {
    let seen = '';
    child.stderr?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (seen.includes('42 is running')) ok();
    });
    void exited.then(() => fail(new Error(`build ended before its RUN started:\n${seen}`)));
  });
  return { child, exited };
}

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(dir));
}

/** Containers left in the state of either runtime (a build may use runc or crun). */
async function containersIn(root: string): Promise<string[]> {
  const runc = await mustRun('runc', ['--root', join(root, 'run/runtime'), 'list', '-q']).catch(() => '');
  const crun = await mustRun('crun', ['--root', join(root, 'run/crun'), 'list', '-q']).catch(() => '');
  return `${runc}\n${crun}`.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('NAME'));
}

describe('interrupted builds', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let slow: string;
  let quick: string;

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    slow = join(work.path, 'slow');
    quick = join(work.path, 'quick');
    await mkdir(slow);
    await mkdir(quick);
    await writeFile(join(slow, 'Dockerfile'), 'FROM tsbuild.test/busybox:1.35\nRUN echo $((6*7)) is running && sleep 60\n');
    await writeFile(join(quick, 'Dockerfile'), 'FROM tsbuild.test/busybox:1.35\nRUN echo quick > /quick\n');
  });
  after(async () => work.cleanup());

  it('Ctrl-C kills the container, unmounts everything and exits 130', async () => {
    const { child, exited } = await startLongBuild(root, slow);
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual(await mountsUnder(root), []);
    assert.deepEqual(await containersIn(root), []);
    assert.deepEqual(await readdir(join(root, 'active')), []);
  });

  it('after kill -9 mid-RUN, the next build succeeds and cleans up what the killed one left', async () => {
    const { child, exited } = await startLongBuild(root, slow);
    child.kill('SIGKILL');
    await exited;
    assert.notDeepEqual(await mountsUnder(root), [], 'the killed build left its mount');
    assert.notDeepEqual(await containersIn(root), [], 'and its container');
    const r = await tsbuild(root, ['build', quick]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await mountsUnder(root), []);
    assert.deepEqual(await containersIn(root), []);
    assert.deepEqual(await readdir(join(root, 'active')), []);
  });
});

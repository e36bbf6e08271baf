import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from './helpers/registry.ts';
import { buildBusyboxBase, tempDir, tsbuild } from './helpers/tsbuild.ts';

/** What a user sees when the build cannot go on: one line, a location, a non-zero exit, nothing left mounted. */
describe('build errors', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
  });
  after(async () => work.cleanup());

  async function buildWith(name: string, dockerfile: string): Promise<{ code: number; stderr: string }> {
    const ctx = join(work.path, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    return tsbuild(root, ['build', ctx]);
  }

  /** The one `error:` line (a source excerpt and a hint may follow it). */
  function errorLine(stderr: string): string {
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    const lines = stderr.split('\n').filter((l) => l.startsWith('error: '));
    assert.equal(lines.length, 1, stderr);
    return lines[0] ?? '';
  }

  it('a failing RUN names the command, its exit code, its output and its line', async () => {
    const r = await buildWith('failing-run', 'FROM tsbuild.test/busybox:1.35\nRUN echo before\nRUN echo oops >&2 && exit 3\n');
    assert.equal(r.code, 1);
    const line = errorLine(r.stderr);
    assert.match(line, /^error: Dockerfile:3:1: RUN failed: .*exited with code 3; last output: oops$/);
    assert.deepEqual(await readdir(join(root, 'active')), [], 'no snapshot left mounted or half-written');
  });

  it('a missing COPY source is reported at its instruction', async () => {
    const r = await buildWith('missing-copy', 'FROM tsbuild.test/busybox:1.35\n\nCOPY nothere.txt /x\n');
    assert.equal(r.code, 1);
    assert.equal(errorLine(r.stderr), 'error: Dockerfile:3:1: COPY failed: file not found in build context: nothere.txt');
  });

  it('an unknown instruction is a parse error with its position', async () => {
    const r = await buildWith('unknown-instruction', 'FROM tsbuild.test/busybox:1.35\n  FROBNICATE now\n');
    assert.equal(r.code, 1);
    assert.match(errorLine(r.stderr), /^error: Dockerfile:2:3: unknown instruction: FROBNICATE/i);
  });

  it('a base image that exists nowhere is a clear error', async () => {
    const port = await freePort();
    const r = await buildWith('missing-base', `FROM 127.0.0.1:${port}/nothing:here\n`);
    assert.equal(r.code, 1);
    assert.equal(errorLine(r.stderr), `error: Dockerfile:1:6: cannot reach registry 127.0.0.1:${port}: connection refused`);
  });
});

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, tempDir, tsbuild } from './helpers/tsbuild.ts';

/** `tsbuild parse`: an outline by default, the AST as JSON with --json, located errors. */
describe('tsbuild parse', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    work = await tempDir();
  });
  after(async () => work.cleanup());

  it('prints an outline with each instruction at its location', async () => {
    const r = await tsbuild(work.path, ['parse', fixture('parser', 'multi-stage.Dockerfile')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0] ?? '', /multi-stage\.Dockerfile: 12 instructions \(escape \\, check=skip=all\)$/);
    assert.ok(lines.includes('  5:1     FROM ${BASE} AS build  [--platform=$BUILDPLATFORM]'), r.stdout);
    assert.ok(lines.includes('            mount cache → /root/.cache  (type=cache,target=/root/.cache)'), r.stdout);
  });

  it('prints the AST as JSON with -f and --json', async () => {
    const file = join(work.path, 'heredoc.Dockerfile');
    await writeFile(file, 'FROM a\nCOPY <<EOF /greeting\nhello\nEOF\n');
    const r = await tsbuild(work.path, ['parse', '-f', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const ast = JSON.parse(r.stdout) as { file: string; instructions: Array<{ kind: string; heredocs?: Array<{ name: string; content: string }> }> };
    assert.equal(ast.file, file);
    assert.deepEqual(ast.instructions.map((i) => i.kind), ['FROM', 'COPY']);
    assert.deepEqual(ast.instructions[1]?.heredocs?.map((h) => [h.name, h.content]), [['EOF', 'hello\n']]);
  });

  it('rejects a bad Dockerfile with its location and no stack trace', async () => {
    const file = join(work.path, 'bad.Dockerfile');
    await writeFile(file, 'FROM a\nCOPPY x y\n');
    const r = await tsbuild(work.path, ['parse', '-f', file]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.split('\n').includes(`error: ${file}:2:1: unknown instruction: COPPY`), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('reads stdin with -f -', async () => {
    const r = await tsbuild(work.path, ['parse', '-f', '-']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: stdin:1:1: file with no instructions$/m);
  });
});

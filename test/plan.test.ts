import assert from 'node:assert/strict';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, tempDir, tsbuild } from './helpers/tsbuild.ts';

interface PlanJson {
  stages: { name?: string; steps: { id: string; name: string; key: string }[] }[];
}

/** Vertex id → key, from `tsbuild plan --json` run as a separate process. */
async function keys(root: string, ctx: string, args: string[] = []): Promise<Map<string, string>> {
  const r = await tsbuild(root, ['plan', '--json', ...args, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as PlanJson;
  return new Map(plan.stages.flatMap((s) => s.steps.map((st) => [st.id, st.key] as const)));
}

function changed(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...a.keys()].filter((id) => a.get(id) !== b.get(id));
}

describe('cache keys', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let base: Map<string, string>;
  const ctxCopy = async (name: string): Promise<string> => {
    const dir = join(work.path, name);
    await cp(fixture('plan', 'keys'), dir, { recursive: true });
    return dir;
  };

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    base = await keys(root, await ctxCopy('first'));
  });
  after(async () => work.cleanup());

  it('are sha256 digests, one per filesystem step, with stable ids', () => {
    assert.deepEqual([...base.keys()], ['other/1', 'stage-1/1', 'stage-1/2', 'stage-1/3', 'stage-1/4', 'stage-1/5']);
    for (const k of base.values()) assert.match(k, /^sha256:[a-f0-9]{64}$/);
  });

  it('are the same from another process and another context path', async () => {
    assert.deepEqual(await keys(root, await ctxCopy('second')), base);
  });

  it('change from the COPY of a changed file on, and nowhere else', async () => {
    const ctx = await ctxCopy('changed-b');
    await writeFile(join(ctx, 'b.txt'), 'B\n');
    assert.deepEqual(changed(base, await keys(root, ctx)), ['stage-1/2', 'stage-1/3', 'stage-1/4', 'stage-1/5']);
  });

  it('change in a stage COPY --from depends on, and in what copies from it', async () => {
    const ctx = await ctxCopy('changed-other');
    await writeFile(join(ctx, 'other.txt'), 'OTHER\n');
    assert.deepEqual(changed(base, await keys(root, ctx)), ['other/1', 'stage-1/5']);
  });

  it('change from the first step that sees a changed build arg', async () => {
    const ctx = await ctxCopy('changed-arg');
    assert.deepEqual(changed(base, await keys(root, ctx, ['--build-arg', 'VERSION=2'])), ['stage-1/3', 'stage-1/4', 'stage-1/5']);
  });

  it('ignore a change to a .dockerignore\'d file', async () => {
    const ctx = await ctxCopy('ignored');
    await writeFile(join(ctx, '.dockerignore'), 'noise.txt\n');
    await writeFile(join(ctx, 'noise.txt'), 'one\n');
    const before = await keys(root, ctx);
    await writeFile(join(ctx, 'noise.txt'), 'two\n');
    assert.deepEqual(changed(before, await keys(root, ctx)), []);
  });

  it('ignore a build arg nothing declares', async () => {
    assert.deepEqual(changed(base, await keys(root, await ctxCopy('undeclared'), ['--build-arg', 'NOBODY=1'])), []);
  });
});

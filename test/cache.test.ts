import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../src/image/blob-store.ts';
import { ImageStore } from '../src/image/image-store.ts';
import { parseReference } from '../src/image/reference.ts';
import { BASE, importBase, runBuild, writeFiles, type Built } from './cache-support.ts';
import { mustRun, tempDir } from './helpers/tsbuild.ts';

const DOCKERFILE = `FROM ${BASE} AS src
RUN echo from-src > /s
FROM ${BASE}
ARG V=1
WORKDIR /w
COPY a.txt ./
ADD b.tar /b/
COPY --from=src /s /s
RUN --mount=type=bind,source=m,target=/m cat /m/m.txt > /m.out
RUN echo "v=$V" > /v
LABEL x=1
ENV E=1
RUN echo done > /done
`;

const step = {
  src: 'RUN echo from-src',
  workdir: 'WORKDIR /w',
  copy: 'COPY a.txt',
  add: 'ADD b.tar',
  copyFrom: 'COPY --from=src',
  mount: 'RUN cat /m/m.txt',
  runV: 'RUN echo "v=$V"',
  done: /RUN echo (done|finished) > \/done/,
} as const;

function has(labels: readonly string[], what: string | RegExp): boolean {
  return labels.some((l) => (typeof what === 'string' ? l.includes(what) : what.test(l)));
}

function missOf(b: Built, what: string | RegExp): string | undefined {
  return b.misses.find((m) => (typeof what === 'string' ? m.startsWith(what) : what.test(m)));
}

describe('the build cache: a hit or a miss for each instruction kind, and why it missed', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let ctx: string;
  let first: Built;
  const rebuild = (opts: Parameters<typeof runBuild>[2] = {}): Promise<Built> => runBuild(root, ctx, opts);
  const editDockerfile = async (from: string, to: string): Promise<void> => {
    const text = await readFile(join(ctx, 'Dockerfile'), 'utf8');
    assert.ok(text.includes(from));
    await writeFile(join(ctx, 'Dockerfile'), text.replace(from, to));
  };

  before(async () => {
    work = await tempDir('tsbuild-cache-');
    root = join(work.path, 'root');
    ctx = join(work.path, 'ctx');
    await importBase(root, work.path);
    await writeFiles(ctx, { Dockerfile: DOCKERFILE, 'a.txt': 'a1\n', 'm/m.txt': 'm1\n', 'tar/b.txt': 'b1\n' });
    await mustRun('tar', ['-C', join(ctx, 'tar'), '-cf', join(ctx, 'b.tar'), 'b.txt']);
    await writeFiles(ctx, { '.dockerignore': 'tar\n' });
    first = await rebuild();
  });
  after(() => work.cleanup());

  it('runs every step the first time, and says there is nothing to compare with', () => {
    assert.equal(first.ran.length, 8, first.ran.join('\n'));
    assert.equal(first.cached.length, 0);
    assert.equal(first.misses.length, 8);
    assert.ok(first.misses.every((m) => m.endsWith('no earlier build of this Dockerfile and target to compare with')), first.misses.join('\n'));
  });

  it('hits every step when nothing changed, and gives the same image', async () => {
    const b = await rebuild();
    assert.deepEqual(b.ran, []);
    assert.equal(b.cached.length, 7, 'the src stage is not even visited: the COPY --from that reads it is cached');
    assert.ok(!has(b.cached, step.src));
    assert.deepEqual(b.misses, []);
    assert.equal(b.digest, first.digest);
  });

  it('LABEL and ENV invalidate no filesystem step before a RUN that sees them', async () => {
    await editDockerfile('LABEL x=1', 'LABEL x=2');
    const label = await rebuild();
    assert.deepEqual(label.ran, []);
    assert.notEqual(label.digest, first.digest, 'the config changed');
    await editDockerfile('ENV E=1', 'ENV E=2');
    const env = await rebuild();
    assert.equal(env.ran.length, 1);
    assert.ok(has(env.ran, step.done));
    assert.equal(missOf(env, step.done)?.replace(/^[^:]*: /, ''), 'ENV E changed 1 → 2');
  });

  it('a changed COPY source misses that COPY (naming the file) and what follows, not what precedes', async () => {
    await writeFile(join(ctx, 'a.txt'), 'a2\n');
    const b = await rebuild();
    assert.ok(has(b.cached, step.workdir) && has(b.cached, step.src), b.cached.join('\n'));
    for (const s of [step.copy, step.add, step.copyFrom, step.mount, step.runV]) assert.ok(has(b.ran, s), `${s} ran`);
    assert.equal(missOf(b, step.copy), 'COPY a.txt ./: 1 file changed: a.txt');
    assert.match(missOf(b, step.add) ?? '', /^ADD b\.tar \/b\/: its parent step changed: COPY a\.txt \.\/ \(stage-1\/2\)$/);
  });

  it('a changed bind-mount source misses that RUN, naming the file', async () => {
    await writeFile(join(ctx, 'm/m.txt'), 'm2\n');
    const b = await rebuild();
    assert.ok(has(b.cached, step.copyFrom));
    assert.ok(has(b.ran, step.mount));
    assert.match(missOf(b, step.mount) ?? '', /: bind-mounted context: 1 file changed: m\/m\.txt$/);
  });

  it('a changed build arg misses the RUN steps that see it, not COPY', async () => {
    const b = await rebuild({ buildArgs: new Map([['V', '2']]) });
    assert.ok(has(b.cached, step.copy) && has(b.cached, step.add));
    assert.ok(has(b.ran, step.runV));
    assert.equal(missOf(b, step.runV), 'RUN echo "v=$V" > /v: build arg V changed 1 → 2');
  });

  it('a changed Dockerfile line misses that step, quoting what it was', async () => {
    await editDockerfile('RUN echo done > /done', 'RUN echo finished > /done');
    const b = await rebuild({ buildArgs: new Map([['V', '2']]) });
    assert.deepEqual(b.ran.length, 1);
    assert.equal(missOf(b, step.done), 'RUN echo finished > /done: Dockerfile line 13 changed: was "RUN echo done > /done"');
  });

  it('a changed source stage misses the COPY --from that reads it', async () => {
    await editDockerfile('RUN echo from-src > /s', 'RUN echo from-src-2 > /s');
    const b = await rebuild({ buildArgs: new Map([['V', '2']]) });
    assert.ok(has(b.cached, step.copy) && has(b.cached, step.add));
    assert.match(missOf(b, step.copyFrom) ?? '', /: its --from source changed$/);
  });

  it('--no-cache-filter reruns that stage and what depends on it, and says so', async () => {
    const b = await rebuild({ buildArgs: new Map([['V', '2']]), noCacheFilter: ['src'] });
    assert.ok(has(b.ran, step.src) && has(b.ran, step.copyFrom) && has(b.ran, step.done));
    assert.ok(has(b.cached, step.workdir) && has(b.cached, step.copy) && has(b.cached, step.add));
    assert.match(missOf(b, step.src) ?? '', /: --no-cache-filter src$/);
    assert.match(missOf(b, step.copyFrom) ?? '', /: it depends on src\/1, which --no-cache-filter rebuilds$/);
    await assert.rejects(rebuild({ noCacheFilter: ['nope'] }), /--no-cache-filter nope: no stage has that name; stages: src/);
  });

  it('--no-cache runs everything, and says so', async () => {
    const b = await rebuild({ buildArgs: new Map([['V', '2']]), noCache: true });
    assert.equal(b.ran.length, 8);
    assert.ok(b.misses.every((m) => m.endsWith(': --no-cache')));
  });

  it('SOURCE_DATE_EPOCH is an input of every step: layers made without it are not reused, so the image is the one a fresh build gives', async () => {
    const args = new Map([['V', '2']]);
    const set = await rebuild({ buildArgs: args, sourceDateEpoch: 0 });
    assert.equal(set.cached.length, 0, set.cached.join('\n'));
    assert.equal(missOf(set, step.workdir), 'WORKDIR /w: SOURCE_DATE_EPOCH set to 0');
    const fresh = join(work.path, 'fresh-root');
    await importBase(fresh, work.path);
    assert.equal((await runBuild(fresh, ctx, { buildArgs: args, sourceDateEpoch: 0 })).digest, set.digest);
    const again = await rebuild({ buildArgs: args, sourceDateEpoch: 0 });
    assert.deepEqual(again.ran, []);
    const changed = await rebuild({ buildArgs: args, sourceDateEpoch: 100 });
    assert.equal(missOf(changed, step.workdir), 'WORKDIR /w: SOURCE_DATE_EPOCH changed 0 → 100');
  });

  it('a changed base image misses the first step of each stage with "FROM: base image digest changed"', async () => {
    // point the base's name at another image: the same layers under a different config
    const store = new BlobStore(join(root, 'blobs'));
    const images = new ImageStore(join(root, 'images'));
    const old = await images.resolve(parseReference(BASE));
    assert.ok(old);
    const manifest = await store.readJson<{ config: { digest: `sha256:${string}` } }>(old.digest);
    const config = await store.readJson<Record<string, unknown>>(manifest.config.digest);
    const newConfig = await store.putBytes(Buffer.from(JSON.stringify({ ...config, author: 'someone else' })));
    const newManifest = await store.putBytes(Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: newConfig.digest, size: newConfig.size } })));
    await images.tag(parseReference(BASE), { ...old, digest: newManifest.digest, size: newManifest.size });
    const b = await rebuild({ buildArgs: new Map([['V', '2']]) });
    assert.equal(b.cached.length, 0);
    assert.match(missOf(b, step.src) ?? '', /: FROM: base image digest changed: tsbuild\.test\/busybox:1\.35 was sha256:[0-9a-f]{12}, is sha256:[0-9a-f]{12}$/);
    assert.match(missOf(b, step.workdir) ?? '', /^WORKDIR \/w: FROM: base image digest changed/);
  });
});

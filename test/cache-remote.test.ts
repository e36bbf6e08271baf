import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CacheStore } from '../src/cache/cache-store.ts';
import { BlobStore } from '../src/image/blob-store.ts';
import type { Digest, Manifest } from '../src/image/oci.ts';
import { runBuild, writeFiles, type Built } from './cache-support.ts';
import { makeBusyboxLayout, pushBase } from './helpers/base-image.ts';
import { startRegistry, type TestRegistry } from './helpers/registry.ts';
import { tempDir } from './helpers/tsbuild.ts';

describe('cache export and import through a registry and an OCI layout, across roots', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let reg: TestRegistry;
  let ctx: string;
  let first: Built;
  let builderLayer: Digest;
  const cacheRef = (): string => `${reg.host}/app/cache:main`;
  const localCache = (): string => join(work.path, 'local-cache');

  before(async () => {
    work = await tempDir('tsbuild-cache-remote-');
    reg = await startRegistry();
    await pushBase(reg.host, await makeBusyboxLayout(join(work.path, 'base')));
    ctx = join(work.path, 'ctx');
    await writeFiles(ctx, {
      Dockerfile: `FROM ${reg.host}/busybox:1.35 AS builder\nRUN echo built > /artifact && head -c 30000 /dev/urandom > /junk\nFROM ${reg.host}/busybox:1.35\nWORKDIR /app\nCOPY --from=builder /artifact ./\nCOPY hello.txt ./\nRUN cat artifact hello.txt > both\n`,
      'hello.txt': 'hello\n',
    });
    const rootA = join(work.path, 'a');
    first = await runBuild(rootA, ctx, { cacheTo: [`type=registry,ref=${cacheRef()},mode=max`, `type=local,dest=${localCache()}`] });
    const outside = await layersOutsideImage(rootA, first.digest);
    assert.equal(outside.length, 1, 'one layer (the builder stage) is in no image');
    builderLayer = outside[0] as Digest;
  });
  after(async () => {
    await reg.stop();
    await work.cleanup();
  });

  it('the first build runs every step and exports its records', () => {
    assert.equal(first.ran.length, 5);
    const exports = first.events.flatMap((e) => (e.type === 'info' && e.message.startsWith('exporting cache') ? [e.message] : []));
    assert.deepEqual(exports, [`exporting cache to ${cacheRef()} (mode=max: 5 steps, 5 layers)`, `exporting cache to ${localCache()} (mode=min: 4 steps, 4 layers)`]);
  });

  it('a fresh root with --cache-from the registry hits every step, gives the same image, and downloads only the layers the image needs', async () => {
    const rootB = join(work.path, 'b');
    const b = await runBuild(rootB, ctx, { cacheFrom: [`type=registry,ref=${cacheRef()}`] });
    assert.deepEqual(b.ran, []);
    assert.equal(b.cached.length, 4, 'the builder stage is not needed: the COPY --from it is cached');
    assert.equal(b.digest, first.digest);
    const blobs = new BlobStore(join(rootB, 'blobs'));
    assert.equal(await blobs.has(builderLayer), false, 'the builder stage layer is not downloaded');
    const manifest = await blobs.readJson<Manifest>(b.digest as Digest);
    for (const l of manifest.layers) assert.ok(await blobs.has(l.digest), `image layer ${l.digest} is in the store`);
    const again = await runBuild(rootB, ctx);
    assert.deepEqual(again.ran, [], 'the records it used are local now');
    assert.equal(again.cached.length, 4, 'the builder stage is not even looked at');
  });

  it('mode=min to an OCI layout: a fresh root hits the steps of the result image', async () => {
    await access(join(localCache(), 'index.json'));
    const rootC = join(work.path, 'c');
    const c = await runBuild(rootC, ctx, { cacheFrom: [`type=local,src=${localCache()}`] });
    assert.equal(c.digest, first.digest);
    assert.ok(c.cached.length >= 4, c.cached.join('\n'));
    assert.ok(c.cached.some((l) => l.includes('RUN cat artifact')));
  });

  it('--cache-mounts-dir carries RUN --mount=type=cache contents from one root to the next', async () => {
    const mounts = join(work.path, 'cache-mounts');
    const mctx = join(work.path, 'mctx');
    await writeFiles(mctx, { Dockerfile: `FROM ${reg.host}/busybox:1.35\nRUN --mount=type=cache,id=runs,target=/c echo run >> /c/log && wc -l < /c/log > /runs\n` });
    await runBuild(join(work.path, 'm1'), mctx, { cacheMountsDir: mounts });
    assert.equal(await readFile(join(mounts, 'runs', 'log'), 'utf8'), 'run\n');
    const second = await runBuild(join(work.path, 'm2'), mctx, { cacheMountsDir: mounts });
    assert.ok(second.events.some((e) => e.type === 'info' && e.message.endsWith('cache mounts imported from ' + mounts + ': runs')));
    assert.equal(await readFile(join(mounts, 'runs', 'log'), 'utf8'), 'run\nrun\n', 'the second root started from the first one\'s contents');
  });

  it('a --cache-from that does not exist yet is a warning, not a failure', async () => {
    const d = await runBuild(join(work.path, 'd'), ctx, { cacheFrom: [`type=registry,ref=${reg.host}/app/cache:nothing`] });
    assert.equal(d.ran.length, 5);
    assert.ok(d.events.some((e) => e.type === 'warning' && e.message.includes('app/cache:nothing not used')));
  });
});

/** Layers of the cache records of `root` that the image `digest` does not contain. */
async function layersOutsideImage(root: string, digest: string): Promise<string[]> {
  const store = new BlobStore(join(root, 'blobs'));
  const image = await store.readJson<Manifest>(digest as Digest);
  const inImage = new Set(image.layers.map((l) => l.digest));
  const { records } = await new CacheStore(root, store).list();
  return records.flatMap(({ record }) => (record.layer && !inImage.has(record.layer.descriptor.digest) ? [record.layer.descriptor.digest] : []));
}

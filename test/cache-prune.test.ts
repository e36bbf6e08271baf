import assert from 'node:assert/strict';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CacheStore } from '../src/cache/cache-store.ts';
import { doctor } from '../src/cache/doctor.ts';
import { pruneStore } from '../src/cache/gc.ts';
import { lockStore } from '../src/cache/store-lock.ts';
import { liveSessions } from '../src/executor/session.ts';
import { BlobStore } from '../src/image/blob-store.ts';
import { ImageStore } from '../src/image/image-store.ts';
import { parseReference } from '../src/image/reference.ts';
import { BASE, importBase, runBuild, writeFiles } from './cache-support.ts';
import { tempDir, tsbuild } from './helpers/tsbuild.ts';

const APP = 'tsbuild.test/app:1';

describe('prune and doctor', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let app: string;
  let other: string;
  const records = async (): Promise<number> => (await new CacheStore(root, new BlobStore(join(root, 'blobs'))).list()).records.length;

  before(async () => {
    work = await tempDir('tsbuild-cache-prune-');
    root = join(work.path, 'root');
    app = join(work.path, 'app');
    other = join(work.path, 'other');
    await importBase(root, work.path);
    await writeFiles(app, { Dockerfile: `FROM ${BASE} AS builder\nRUN echo built > /artifact && echo junk > /junk\nFROM ${BASE}\nCOPY --from=builder /artifact /artifact\nRUN cat /artifact > /copy\n` });
    await writeFiles(other, { Dockerfile: `FROM ${BASE}\nRUN echo other > /other\n` });
  });
  after(() => work.cleanup());

  it('by default removes the records no named image uses, and what only they used', async () => {
    await runBuild(root, app, { tags: [APP] });
    await runBuild(root, other);
    assert.equal(await records(), 4);
    const report = await pruneStore(root);
    assert.ok(report);
    assert.equal(report.records, 2, 'the builder stage and the untagged image');
    assert.ok(report.freed > 0);
    assert.equal(await records(), 2);
    const again = await runBuild(root, app, { tags: [APP] });
    assert.deepEqual(again.ran, [], 'the named image rebuilds from the cache');
    assert.equal((await runBuild(root, other)).ran.length, 1);
    assert.deepEqual((await doctor(root, { repair: false })).problems, []);
  });

  it('keeps what was used recently with --filter until, and fits --keep-storage by dropping the least recently used', async () => {
    assert.equal((await pruneStore(root, { all: true, unusedForMs: 3_600_000 }))?.records, 0);
    assert.equal((await pruneStore(root, { keepStorage: 1e12 }))?.records, 0);
    const fit = await pruneStore(root, { keepStorage: 0 });
    assert.ok(fit);
    assert.equal(fit.records, 3);
    assert.equal(await records(), 0);
    assert.ok(fit.after < fit.before);
  });

  it('--all removes every record but keeps named images whole', async () => {
    await runBuild(root, app, { tags: [APP] });
    const report = await pruneStore(root, { all: true });
    assert.equal(report?.records, 3);
    const images = new ImageStore(join(root, 'images'));
    const manifest = await images.resolve(parseReference(APP));
    assert.ok(manifest && (await new BlobStore(join(root, 'blobs')).has(manifest.digest)));
    assert.equal((await runBuild(root, app, { tags: [APP] })).ran.length, 3);
    assert.deepEqual((await doctor(root, { repair: false })).problems, []);
  });

  it('waits for a running build, and a build waits for a running prune', async () => {
    const slow = join(work.path, 'slow');
    await writeFiles(slow, { Dockerfile: `FROM ${BASE}\nRUN sleep 1.5 && echo slow > /slow\n` });
    // the build is surely under way (past joining the store) once its RUN step's diff dir exists
    const stepDirs = async (): Promise<string[]> => (await readdir(join(root, 'snapshots')).catch(() => [] as string[])).filter((n) => n.startsWith('s'));
    const before = new Set(await stepDirs());
    let finished = false;
    const building = tsbuild(root, ['build', slow]).then((r) => ((finished = true), r));
    while (!finished && (await stepDirs()).every((n) => before.has(n))) await new Promise((ok) => setTimeout(ok, 20));
    if (finished) assert.fail(`the build ended before prune started: ${(await building).stderr}`);
    let waitedFor = 0;
    const report = await pruneStore(root, { onWait: (n) => (waitedFor = n) });
    assert.equal(waitedFor, 1);
    assert.equal((await building).code, 0);
    assert.ok(report);

    const held = await lockStore(root, { wait: true, liveBuilds: () => liveSessions(root) });
    assert.ok(held);
    let done = false;
    const blocked = tsbuild(root, ['build', other]).then((r) => ((done = true), r));
    await new Promise((ok) => setTimeout(ok, 1500));
    assert.equal(done, false, 'the build waits while the store is locked');
    await held.release();
    assert.equal((await blocked).code, 0);
  });

  it('doctor removes a corrupt blob with the records and names that need it, restores a missing diff dir, and the next build works', async () => {
    const first = await runBuild(root, app, { tags: [APP] });
    const store = new BlobStore(join(root, 'blobs'));
    const cache = new CacheStore(root, store);
    const { records: all } = await cache.list();
    const withLayer = all.filter((r) => r.record.layer && r.record.snapshot);
    const [corrupt, lost] = withLayer.map((r) => r.record);
    assert.ok(corrupt?.layer && lost?.snapshot);
    await writeFile(store.path(corrupt.layer.descriptor.digest), 'garbage');
    await rm(join(root, 'snapshots', lost.snapshot), { recursive: true });
    const report = await doctor(root);
    const text = report.problems.join('\n');
    assert.match(text, /does not match its digest: repaired/);
    assert.match(text, new RegExp(`cache record ${corrupt.key} names missing layer`));
    assert.match(text, new RegExp(`cache record ${lost.key} names missing diff dir`));
    assert.match(text, /image tsbuild\.test\/app:1: layer sha256:[0-9a-f]+ is missing: repaired/);
    assert.deepEqual((await doctor(root, { repair: false })).problems, []);
    const again = await runBuild(root, app, { tags: [APP] });
    assert.equal(again.ran.length, 1, `only the step whose layer was corrupt runs again: ${again.ran.join(', ')} (corrupt: ${corrupt.key})`);
    assert.notEqual(first.digest, '');
    assert.deepEqual((await doctor(root, { repair: false })).problems, []);
    assert.ok((await readdir(join(root, 'snapshots'))).length > 0);
  });

  it('drops remembered command lines written more than 30 days ago', async () => {
    const dir = join(root, 'cache', 'memo', 'argv');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'old.json'), '{}');
    await writeFile(join(dir, 'new.json'), '{}');
    const longAgo = new Date(Date.now() - 31 * 24 * 3_600_000);
    await utimes(join(dir, 'old.json'), longAgo, longAgo);
    await pruneStore(root);
    const left = await readdir(dir);
    assert.ok(!left.includes('old.json'));
    assert.ok(left.includes('new.json'));
  });
});

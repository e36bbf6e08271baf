import assert from 'node:assert/strict';
import { lstatSync, type BigIntStats } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { changedMsOfStamp, RACY_WINDOW_MS, StatCache, stampKey, stampKeyOf, stampOfPath } from './stat-cache.ts';

type Stamp = Pick<BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>;

const MS = 1_000_000n;
const sha = (c: string): string => c.repeat(64);

/** The inode numbers of a cache file's records, in the order they are stored. */
async function recordOrder(path: string): Promise<number[]> {
  const data = await readFile(path);
  return Array.from({ length: data.readUInt32LE(8) }, (_, i) => data.readUInt32LE(16 + i * 108 + 8));
}

/** A file last changed `ageMs` ago, and its cache key. */
function file(ino: bigint, ageMs: number, over: Partial<Stamp> = {}): { stamp: Stamp; key: string; changedMs: number } {
  const changedMs = Date.now() - ageMs;
  const stamp = { dev: 2049n, ino, size: 4096n, mtimeNs: BigInt(changedMs) * MS, ctimeNs: BigInt(changedMs) * MS, ...over };
  return { stamp, key: stampKey(stamp), changedMs };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-statcache-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('StatCache', () => {
  it('persists entries and matches only the exact stamp', async () => {
    const path = join(dir, 'exact.bin');
    const f = file(1n, 60_000);
    const a = await StatCache.open(path);
    a.record(f.key, f.changedMs, sha('a'), Date.now());
    await a.save();
    const b = await StatCache.open(path);
    assert.equal(b.size, 1);
    assert.equal(b.lookup(f.key), sha('a'));
    // times are kept to a fraction of a microsecond (see the module comment)
    for (const change of [{ size: 4097n }, { mtimeNs: f.stamp.mtimeNs + 1000n }, { ctimeNs: f.stamp.ctimeNs + 1000n }, { ino: 2n }, { dev: 2050n }]) {
      assert.equal(b.lookup(stampKey({ ...f.stamp, ...change })), undefined, JSON.stringify(Object.keys(change)));
    }
  });

  it('gives plain and bigint stats of one state the same key, keeping inode numbers past 2^53 exact', async () => {
    const path = join(dir, 'stamped');
    await writeFile(path, 'x');
    assert.equal(stampKey(lstatSync(path)), stampKey(lstatSync(path, { bigint: true })));
    assert.equal(stampOfPath(path), stampKey(lstatSync(path)));
    assert.equal(stampOfPath(join(dir, 'missing')), undefined);
    const high = file(2n ** 60n + 1n, 60_000);
    assert.notEqual(high.key, file(2n ** 60n, 60_000).key);
    assert.equal(Buffer.from(high.key, 'latin1').readBigUInt64LE(8), 2n ** 60n + 1n);
  });

  it('tells when the file of a stamp last changed: the later of mtime and ctime', () => {
    const f = file(3n, 5_000, { mtimeNs: 1_000_000_000_000n * MS });
    assert.equal(changedMsOfStamp(f.key), f.changedMs);
    const g = file(4n, 5_000, { ctimeNs: 1_000_000_000_000n * MS });
    assert.equal(changedMsOfStamp(g.key), g.changedMs);
  });

  it('does not persist a racy entry: a file changed within the window before its read', async () => {
    const path = join(dir, 'racy.bin');
    const read = Date.now();
    const fresh = file(1n, RACY_WINDOW_MS / 2);
    const ctimeOnly = { ...file(2n, 60_000), changedMs: read - 1 };
    const old = file(3n, RACY_WINDOW_MS + 1000);
    const a = await StatCache.open(path);
    for (const [f, h] of [[fresh, '1'], [ctimeOnly, '2'], [old, '3']] as const) a.record(f.key, f.changedMs, sha(h), read);
    assert.equal(a.lookup(fresh.key), sha('1'), 'still usable within the same build');
    await a.save();
    const b = await StatCache.open(path);
    assert.equal(b.lookup(fresh.key), undefined);
    assert.equal(b.lookup(ctimeOnly.key), undefined);
    assert.equal(b.lookup(old.key), sha('3'));
  });

  it('ignores a corrupt or foreign cache file, and replaces it on save', async () => {
    const path = join(dir, 'corrupt.bin');
    const f = file(1n, 60_000);
    const a = await StatCache.open(path);
    a.record(f.key, f.changedMs, sha('a'), Date.now());
    await a.save();
    const bytes = await readFile(path);
    bytes[20] = (bytes[20] as number) ^ 0xff;
    await writeFile(path, bytes);
    assert.equal((await StatCache.open(path)).size, 0);
    await writeFile(path, 'not a cache');
    assert.equal((await StatCache.open(path)).size, 0);
    await writeFile(path, bytes.subarray(0, 50));
    const c = await StatCache.open(path);
    assert.equal(c.size, 0);
    const g = file(5n, 60_000);
    c.record(g.key, g.changedMs, sha('c'), Date.now());
    await c.save();
    assert.equal((await StatCache.open(path)).size, 1);
  });

  it('merges what concurrent builds saved, leaving no temp files', async () => {
    const path = join(dir, 'shared.bin');
    const [a, b] = await Promise.all([StatCache.open(path), StatCache.open(path)]);
    const fa = file(1n, 60_000);
    const fb = file(2n, 60_000);
    a.record(fa.key, fa.changedMs, sha('a'), Date.now());
    b.record(fb.key, fb.changedMs, sha('b'), Date.now());
    await a.save();
    await b.save();
    const merged = await StatCache.open(path);
    assert.equal(merged.lookup(fa.key), sha('a'));
    assert.equal(merged.lookup(fb.key), sha('b'));
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const c = await StatCache.open(path);
        const f = file(10n + BigInt(i), 60_000);
        c.record(f.key, f.changedMs, sha('d'), Date.now());
        await c.save();
      }),
    );
    assert.ok((await StatCache.open(path)).size >= 3);
    assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('shared') && name !== 'shared.bin'), []);
  });

  it('saving over the file it loaded keeps the other entries and replaces an older state of a file', async () => {
    const path = join(dir, 'inplace.bin');
    const a = await StatCache.open(path);
    const older = file(1n, 120_000);
    const others = [file(2n, 60_000), file(3n, 60_000), file(4n, 60_000)];
    for (const f of [older, ...others]) a.record(f.key, f.changedMs, sha('a'), Date.now());
    await a.save();
    const b = await StatCache.open(path);
    const newer = file(1n, 60_000);
    const added = file(5n, 60_000);
    b.record(newer.key, newer.changedMs, sha('b'), Date.now());
    b.record(added.key, added.changedMs, sha('c'), Date.now());
    await b.save();
    const c = await StatCache.open(path);
    assert.equal(c.size, 5);
    assert.equal(c.lookup(older.key), undefined);
    assert.equal(c.lookup(newer.key), sha('b'));
    assert.equal(c.lookup(added.key), sha('c'));
    for (const f of others) assert.equal(c.lookup(f.key), sha('a'));
  });

  it('persists directory listings, not racy ones, and keeps the newest listing of a directory', async () => {
    const path = join(dir, 'listings.bin');
    const files = file(1n, 60_000);
    const empty = file(2n, 60_000);
    const racy = file(3n, RACY_WINDOW_MS / 2);
    const names = { names: ['a', 'é b', 'sub'], types: '--d' };
    const a = await StatCache.open(path);
    a.recordListing(files.key, files.changedMs, names, Date.now());
    a.recordListing(empty.key, empty.changedMs, { names: [], types: '' }, Date.now());
    a.recordListing(racy.key, racy.changedMs, names, Date.now());
    a.record(files.key, files.changedMs, sha('a'), Date.now());
    await a.save();
    const b = await StatCache.open(path);
    assert.deepEqual(b.listing(files.key), names);
    assert.deepEqual(b.listing(empty.key), { names: [], types: '' });
    assert.equal(b.listing(racy.key), undefined);
    assert.equal(b.lookup(files.key), sha('a'), 'file records and listings side by side');
    // another build saw the directory change meanwhile: its listing replaces the old one
    const c = await StatCache.open(path);
    const later = file(1n, 30_000);
    c.recordListing(later.key, later.changedMs, { names: ['a'], types: '-' }, Date.now());
    await c.save();
    const stale = file(4n, 60_000);
    b.recordListing(stale.key, stale.changedMs, { names: ['x'], types: '-' }, Date.now());
    await b.save();
    const d = await StatCache.open(path);
    assert.equal(d.listing(files.key), undefined);
    assert.deepEqual(d.listing(later.key), { names: ['a'], types: '-' });
    assert.deepEqual(d.listing(stale.key), { names: ['x'], types: '-' });
    assert.deepEqual(d.listing(empty.key), { names: [], types: '' });
  });

  it('keeps one entry per file, the newest state, when builds disagree', async () => {
    const path = join(dir, 'newer.bin');
    const older = file(1n, 120_000);
    const newer = file(1n, 60_000);
    const a = await StatCache.open(path);
    const b = await StatCache.open(path);
    b.record(newer.key, newer.changedMs, sha('e'), Date.now());
    await b.save();
    a.record(older.key, older.changedMs, sha('f'), Date.now());
    await a.save();
    const c = await StatCache.open(path);
    assert.equal(c.size, 1);
    assert.equal(c.lookup(newer.key), sha('e'));
    assert.equal(c.lookup(older.key), undefined);
  });

  it('keeps records in the order files are met: a changed file in its place, an added one where it was missed', async () => {
    const path = join(dir, 'order.bin');
    const a = await StatCache.open(path);
    const first = [1n, 2n, 3n, 4n].map((ino) => file(ino, 60_000));
    for (const f of first) a.record(f.key, f.changedMs, sha('a'), Date.now());
    await a.save();
    assert.deepEqual(await recordOrder(path), [1, 2, 3, 4]);
    const b = await StatCache.open(path);
    // the walk meets 1, 2 (changed), 5 (added), 3, 4
    const changed = file(2n, 30_000);
    const added = file(5n, 60_000);
    for (const f of [first[0], changed, added, first[2], first[3]]) {
      if (f && b.lookup(f.key) === undefined) b.record(f.key, f.changedMs, sha('b'), Date.now());
    }
    await b.save();
    assert.deepEqual(await recordOrder(path), [1, 2, 5, 3, 4]);
    const c = await StatCache.open(path);
    assert.equal(c.lookup(changed.key), sha('b'));
    assert.equal(c.lookup(first[1]?.key ?? ''), undefined, 'the old state of the changed file is gone');
  });

  it('gives a walk the same stamps as stampKeyOf, however the files differ from the records', async () => {
    const path = join(dir, 'walk.bin');
    const old = Date.now() - 60_000;
    const stats = (ino: number, t = old): [number, number, number, number, number] => [2049, ino, 4096, t, t + 0.5];
    const a = await StatCache.open(path);
    for (const ino of [1, 2, 3, 4, 5, 6]) a.record(stampKeyOf(...stats(ino)), old, sha('a'), Date.now());
    await a.save();
    const b = await StatCache.open(path);
    // unchanged, changed, added, removed (3), out of order (6 before 5)
    for (const s of [stats(1), stats(2, old + 1), stats(10), stats(4), stats(6), stats(5)]) assert.equal(b.fileStamp(...s), stampKeyOf(...s));
    assert.equal(b.lookup(stampKeyOf(...stats(6))), sha('a'));
    assert.equal(b.lookup(stampKeyOf(...stats(2, old + 1))), undefined);
  });
});

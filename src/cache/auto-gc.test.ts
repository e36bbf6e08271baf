import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { BuildSession } from '../executor/session.ts';
import { BlobStore } from '../image/blob-store.ts';
import { MediaType } from '../image/oci.ts';
import { collectIfDue, GC_CHECK_INTERVAL_MS } from './auto-gc.ts';
import { CacheStore } from './cache-store.ts';

/** The automatic store limit: when it is due, and what it then removes (see gc.ts for the selection itself). */
describe('collectIfDue', () => {
  const dirs: string[] = [];
  let root: string;
  let cache: CacheStore;
  const stamp = (): string => join(root, 'gc-checked');
  const records = async (): Promise<number> => (await cache.list()).records.length;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-auto-gc-'));
    dirs.push(root);
    const blobs = new BlobStore(join(root, 'blobs'));
    cache = new CacheStore(root, blobs);
    for (const n of [1, 2]) {
      const blob = await blobs.putBytes(Buffer.alloc(64 * 1024, n));
      const descriptor = { mediaType: MediaType.layerGzip, digest: blob.digest, size: blob.size };
      await cache.put({ key: `sha256:${String(n).repeat(64)}`, layer: { descriptor, diffId: blob.digest } });
    }
  });
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('checks the first time, and prunes the store down to its limit', async () => {
    const report = await collectIfDue(root, { keepStorage: 0 });
    assert.ok(report);
    assert.equal(report.records, 2);
    assert.equal(await records(), 0);
    assert.ok((await stat(stamp())).isFile(), 'the check is stamped');
  });

  it('does nothing while the last check is younger than the interval', async () => {
    assert.equal(await collectIfDue(root, { keepStorage: 1e12 }), undefined, 'under the limit: nothing to report');
    assert.equal(await collectIfDue(root, { keepStorage: 0 }), undefined, 'checked a moment ago');
    assert.equal(await records(), 2);
    const old = new Date(Date.now() - GC_CHECK_INTERVAL_MS - 1000);
    await utimes(stamp(), old, old);
    assert.equal((await collectIfDue(root, { keepStorage: 0 }))?.records, 2, 'due again an interval later');
  });

  it('leaves the store alone while a build runs', async () => {
    const session = await BuildSession.open(root);
    try {
      assert.equal(await collectIfDue(root, { keepStorage: 0, intervalMs: 0 }), undefined);
      assert.equal(await records(), 2);
    } finally {
      await session.close();
    }
    assert.equal((await collectIfDue(root, { keepStorage: 0, intervalMs: 0 }))?.records, 2);
  });
});

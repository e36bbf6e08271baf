import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../image/blob-store.ts';
import { MediaType, type Digest } from '../image/oci.ts';
import { CacheStore, type CacheRecord } from './cache-store.ts';

describe('CacheStore.get', () => {
  let root: string;
  let blobs: BlobStore;
  let cache: CacheStore;
  const key = (c: string): Digest => `sha256:${c.repeat(64)}`;
  const file = (k: Digest): string => join(root, 'cache', `${k.slice('sha256:'.length)}.json`);
  const withLayer = async (k: Digest, digest: Digest): Promise<CacheRecord> => {
    const record = { key: k, layer: { descriptor: { mediaType: MediaType.layerGzip, digest, size: 1 }, diffId: digest } };
    await cache.put(record);
    return record;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-cache-store-'));
    blobs = new BlobStore(join(root, 'blobs'));
    cache = new CacheStore(root, blobs);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('gives a record whose blob is there, and marks it used', async () => {
    const blob = await blobs.putBytes(Buffer.from('layer'));
    const record = await withLayer(key('1'), blob.digest);
    const old = new Date(Date.now() - 3_600_000);
    await utimes(file(record.key), old, old);
    assert.deepEqual(await cache.get(record.key), record);
    assert.ok((await stat(file(record.key))).mtimeMs > old.getTime() + 1000);
    const layerless = { key: key('2'), layer: null };
    await cache.put(layerless);
    assert.deepEqual(await cache.get(layerless.key), layerless);
  });

  it('misses a record that is absent, unreadable, another key\'s, or whose blob is gone or not a digest', async () => {
    assert.equal(await cache.get(key('3')), undefined);
    await writeFile(file(key('4')), '{"key": "sha256:');
    assert.equal(await cache.get(key('4')), undefined);
    await writeFile(file(key('5')), JSON.stringify({ key: key('6'), layer: null }));
    assert.equal(await cache.get(key('5')), undefined);
    await withLayer(key('7'), key('8'));
    assert.equal(await cache.get(key('7')), undefined);
    await writeFile(file(key('9')), JSON.stringify({ key: key('9'), layer: { descriptor: { mediaType: MediaType.layerGzip, digest: '../../x', size: 1 }, diffId: key('9') } }));
    assert.equal(await cache.get(key('9')), undefined);
  });
});

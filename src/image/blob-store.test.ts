import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../errors.ts';
import { BlobStore, digestOf } from './blob-store.ts';

let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-blob-store-'));
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('blobs are stored under their digest and read back verified', async () => {
  const store = new BlobStore(join(tmp, 'a'));
  const stored = await store.putBytes(Buffer.from('hello'));
  assert.deepEqual(stored, { digest: digestOf('hello'), size: 5 });
  assert.ok(await store.has(stored.digest));
  assert.equal((await store.readBytes(stored.digest)).toString(), 'hello');
  assert.equal(await store.size(stored.digest), 5);
  writeFileSync(store.path(stored.digest), 'tampered');
  await assert.rejects(store.readBytes(stored.digest), (e) => e instanceof UserError && /corrupt/.test(e.message));
});

test('a stream that does not match what was expected leaves nothing under any name', async () => {
  const store = new BlobStore(join(tmp, 'b'));
  const wrong = digestOf('something else');
  await assert.rejects(store.putStream([Buffer.from('data')], { digest: wrong }), (e) => e instanceof UserError && /digest mismatch/.test(e.message));
  await assert.rejects(
    store.putStream([Buffer.from('data')], { digest: digestOf('data'), size: 3 }),
    (e) => e instanceof UserError && /size mismatch/.test(e.message),
  );
  assert.equal(await store.has(wrong), false);
  assert.equal(await store.has(digestOf('data')), false);
  assert.deepEqual(readdirSync(join(store.root, 'ingest')), [], 'no temp file left');
  assert.throws(() => store.path('sha256:XYZ' as `sha256:${string}`), (e) => e instanceof UserError && /invalid digest/.test(e.message));
});

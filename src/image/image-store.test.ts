import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ImageStore } from './image-store.ts';
import { MediaType, type Descriptor } from './oci.ts';
import { parseReference } from './reference.ts';

let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-image-store-'));
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const desc = (n: string): Descriptor => ({ mediaType: MediaType.manifest, digest: `sha256:${n.repeat(64)}`, size: 100 });

test('tag, resolve, retag and list', async () => {
  const images = new ImageStore(join(tmp, 'images'));
  assert.deepEqual(await images.list(), []);
  assert.equal(await images.resolve(parseReference('app')), undefined);
  await images.tag(parseReference('app'), desc('a'));
  await images.tag(parseReference('localhost:5000/team/app:v2'), desc('b'));
  assert.deepEqual(await images.resolve(parseReference('docker.io/library/app:latest')), desc('a'));
  await images.tag(parseReference('app:latest'), desc('c'));
  assert.deepEqual(await images.resolve(parseReference('app')), desc('c'));
  assert.deepEqual(await images.list(), [
    { name: 'docker.io/library/app:latest', manifest: desc('c') },
    { name: 'localhost:5000/team/app:v2', manifest: desc('b') },
  ]);
  assert.ok((await readdir(join(tmp, 'images'))).every((n) => !n.startsWith('.tmp-')), 'no temp files left');
});

test('very long names still get a file', async () => {
  const images = new ImageStore(join(tmp, 'long'));
  const ref = parseReference(`registry.example.com/${'a'.repeat(120)}/${'b'.repeat(120)}:${'t'.repeat(100)}`);
  await images.tag(ref, desc('d'));
  assert.deepEqual(await images.resolve(ref), desc('d'));
  assert.equal((await images.list())[0]?.name.length, 'registry.example.com/'.length + 120 + 1 + 120 + 1 + 100);
});

test('remove forgets a name and reports whether it existed', async () => {
  const images = new ImageStore(join(tmp, 'remove'));
  await images.tag(parseReference('app:1'), desc('e'));
  await images.tag(parseReference('app:2'), desc('e'));
  assert.equal(await images.remove(parseReference('app:1')), true);
  assert.equal(await images.remove(parseReference('app:1')), false);
  assert.equal(await images.resolve(parseReference('app:1')), undefined);
  assert.deepEqual(await images.list(), [{ name: 'docker.io/library/app:2', manifest: desc('e') }]);
});

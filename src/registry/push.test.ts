import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../errors.ts';
import { BlobStore } from '../image/blob-store.ts';
import { ImageStore } from '../image/image-store.ts';
import { MediaType, type Descriptor, type Index } from '../image/oci.ts';
import { parseReference } from '../image/reference.ts';
import { makeBusyboxLayout, pushBase } from '../../test/helpers/base-image.ts';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.ts';
import { startRegistryProxy, type RegistryProxy } from '../../test/helpers/registry-proxy.ts';
import { servedManifestDigest, skopeo } from '../../test/helpers/skopeo.ts';
import { makeSyntheticImage, type SyntheticImage } from '../../test/helpers/synthetic-image.ts';
import { blobLocations, pullImage, pushImage, type PushProgress } from './client.ts';

let tmp: string;
let reg: TestRegistry;
let proxy: RegistryProxy;
let store: BlobStore;
let image: SyntheticImage;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-push-test-'));
  reg = await startRegistry();
  proxy = await startRegistryProxy(reg.host);
  store = new BlobStore(join(tmp, 'store'));
  image = await makeSyntheticImage(store, { layerSizes: [300_000, 200_000], seed: 'push-test' });
});

after(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The proxy's requests from `from` on, as `METHOD path`, for asserting what a push sent. */
function requestsSince(from: number): string[] {
  return proxy.requests.slice(from).map((r) => `${r.method} ${r.path}`);
}

/** skopeo copies `name` from the registry into an OCI layout; returns the layout's manifest descriptor. */
async function skopeoCopyOut(name: string, dir: string): Promise<Descriptor> {
  await skopeo(['copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${reg.host}/${name}`, `oci:${dir}:t`]);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index;
  assert.equal(index.manifests.length, 1);
  return index.manifests[0] as Descriptor;
}

describe('pushImage to a real registry', () => {
  test('pushes an image that skopeo copies back out with the same digests', async () => {
    const events: PushProgress[] = [];
    const result = await pushImage(store, image.manifest, parseReference(`${reg.host}/app:1`), { onProgress: (e) => events.push(e) });
    assert.deepEqual(result, { manifest: image.manifest, refs: [`${reg.host}/app:1`] });

    assert.equal(await servedManifestDigest(reg.host, 'app:1'), image.manifest.digest);
    const copied = await skopeoCopyOut('app:1', join(tmp, 'skopeo-out'));
    assert.equal(copied.digest, image.manifest.digest);
    for (const blob of [image.config, ...image.layers]) {
      assert.equal((await readFile(join(tmp, 'skopeo-out', 'blobs', 'sha256', blob.digest.slice(7)))).length, blob.size);
    }

    const done = events.filter((e) => e.type === 'blob-done').map((e) => e.digest);
    assert.deepEqual(new Set(done), new Set([image.config.digest, ...image.layers.map((l) => l.digest)]));
    const [first] = image.layers;
    assert.ok(events.some((e) => e.type === 'blob-progress' && e.digest === first?.digest && e.sent === first.size));
    assert.deepEqual(events.at(-1), { type: 'manifest', ref: `${reg.host}/app:1`, descriptor: image.manifest });
  });

  test('a second push of the same image sends no blob: HEAD finds each one', async () => {
    await pushImage(store, image.manifest, parseReference(`${proxy.host}/again:1`));
    const from = proxy.requests.length;
    const events: PushProgress[] = [];
    await pushImage(store, image.manifest, parseReference(`${proxy.host}/again:1`), { onProgress: (e) => events.push(e) });
    const sent = requestsSince(from);
    assert.equal(sent.filter((r) => r.startsWith('HEAD /v2/again/blobs/')).length, 3);
    assert.deepEqual(sent.filter((r) => !r.startsWith('HEAD ')), ['PUT /v2/again/manifests/1']);
    assert.equal(events.filter((e) => e.type === 'blob-exists').length, 3);
  });

  test('several tags and a second repository: blobs go once per repository, the second mounts them from the first', async () => {
    const from = proxy.requests.length;
    const refs = ['multi:a', 'multi:b', 'sibling:1'].map((n) => parseReference(`${proxy.host}/${n}`));
    const events: PushProgress[] = [];
    const result = await pushImage(store, image.manifest, refs, { onProgress: (e) => events.push(e) });
    assert.deepEqual(result.refs, refs.map((r) => `${proxy.host}/${r.repository}:${r.tag}`));

    const sent = proxy.requests.slice(from);
    const mounts = sent.filter((r) => r.method === 'POST' && r.path === '/v2/sibling/blobs/uploads/');
    assert.equal(mounts.length, 3);
    for (const m of mounts) {
      assert.match(m.query, /^mount=sha256%3A[0-9a-f]{64}&from=multi$/);
      assert.equal(m.status, 201);
    }
    assert.equal(sent.filter((r) => r.method === 'PUT' && r.path.startsWith('/v2/sibling/blobs/')).length, 0, 'nothing uploaded to sibling');
    assert.equal(events.filter((e) => e.type === 'blob-mounted' && e.from === `${proxy.host}/multi`).length, 3);
    for (const name of ['multi:a', 'multi:b', 'sibling:1']) assert.equal(await servedManifestDigest(reg.host, name), image.manifest.digest);
  });

  test('mounts the blobs the local image store places in another repository of the registry', async () => {
    const images = new ImageStore(join(tmp, 'images'));
    await pushImage(store, image.manifest, parseReference(`${proxy.host}/known:1`));
    await images.tag(parseReference(`${proxy.host}/known:1`), image.manifest);
    await images.tag(parseReference(`elsewhere.example/known:1`), image.manifest);
    const locations = await blobLocations(store, images);
    assert.deepEqual(locations.get(image.config.digest), [
      { registry: proxy.host, repository: 'known' },
      { registry: 'elsewhere.example', repository: 'known' },
    ]);

    const events: PushProgress[] = [];
    await pushImage(store, image.manifest, parseReference(`${proxy.host}/mounted:1`), { knownLocations: locations, onProgress: (e) => events.push(e) });
    assert.deepEqual(
      events.filter((e) => e.type !== 'manifest').map((e) => e.type),
      ['blob-mounted', 'blob-mounted', 'blob-mounted'],
    );
  });

  test('a mount the registry refuses falls back to uploading in the session it opened', async () => {
    const fresh = await makeSyntheticImage(store, { layerSizes: [50_000], seed: 'mount-fallback' });
    const from = proxy.requests.length;
    const events: PushProgress[] = [];
    const wrongHint = new Map([[fresh.layers[0]?.digest as Descriptor['digest'], [{ registry: proxy.host, repository: 'nowhere' }]]]);
    await pushImage(store, fresh.manifest, parseReference(`${proxy.host}/fallback:1`), { knownLocations: wrongHint, onProgress: (e) => events.push(e) });
    const mount = proxy.requests.slice(from).find((r) => r.query.includes('mount='));
    assert.equal(mount?.status, 202);
    assert.equal(events.filter((e) => e.type === 'blob-done').length, 2);
    assert.equal(await servedManifestDigest(reg.host, 'fallback:1'), fresh.manifest.digest);
  });

  test('uploads in chunks when asked: PATCHes with Content-Range, then the closing PUT', async () => {
    const chunky = await makeSyntheticImage(store, { layerSizes: [700_000], seed: 'chunked' });
    const from = proxy.requests.length;
    await pushImage(store, chunky.manifest, parseReference(`${proxy.host}/chunked:1`), { chunkSize: 256 * 1024 });
    const layer = chunky.layers[0] as Descriptor;
    const patches = proxy.requests.slice(from).filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, Math.ceil(layer.size / (256 * 1024)));
    assert.equal(patches[0]?.headers['content-range'], `0-${256 * 1024 - 1}`);
    assert.equal(patches.at(-1)?.headers['content-range'], `${2 * 256 * 1024}-${layer.size - 1}`);
    const copied = await skopeoCopyOut('chunked:1', join(tmp, 'skopeo-chunked'));
    assert.equal(copied.digest, chunky.manifest.digest);
  });

  test('pushes an index: each platform manifest by digest, then the index under the tag', async () => {
    const amd = await makeSyntheticImage(store, { layerSizes: [10_000], seed: 'index-amd64' });
    const arm = await makeSyntheticImage(store, { layerSizes: [10_000], seed: 'index-arm64' });
    const indexJson: Index = {
      schemaVersion: 2,
      mediaType: MediaType.index,
      manifests: [
        { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    };
    const index: Descriptor = { mediaType: MediaType.index, ...(await store.putBytes(Buffer.from(JSON.stringify(indexJson)))) };
    await pushImage(store, index, parseReference(`${reg.host}/multiarch:1`));
    assert.equal(await servedManifestDigest(reg.host, 'multiarch:1'), index.digest);
    const pulled = await pullImage(parseReference(`${reg.host}/multiarch:1`), new BlobStore(join(tmp, 'index-pull')), {
      platform: { os: 'linux', architecture: 'arm64' },
    });
    assert.equal(pulled.manifest.digest, arm.manifest.digest);
  });

  test('a Docker schema 2 image pulled by tsbuild is pushed byte for byte', async () => {
    const layout = await makeBusyboxLayout(join(tmp, 'base'));
    await pushBase(reg.host, layout, 'docker/busybox:1.35', { format: 'v2s2' });
    const local = new BlobStore(join(tmp, 'v2s2'));
    const pulled = await pullImage(parseReference(`${reg.host}/docker/busybox:1.35`), local);
    assert.equal(pulled.manifest.mediaType, MediaType.dockerManifest);
    await pushImage(local, pulled.manifest, parseReference(`${reg.host}/copied/busybox:1.35`));
    assert.equal(await servedManifestDigest(reg.host, 'copied/busybox:1.35'), pulled.manifest.digest);
  });

  test('refuses a name pinned to another digest, and an image with a blob missing locally, before sending anything', async () => {
    const from = proxy.requests.length;
    const other = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(pushImage(store, image.manifest, parseReference(`${proxy.host}/app@${other}`)), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, `${proxy.host}/app@${other}: the image to push is ${image.manifest.digest}, not the digest the name pins`);
      return true;
    });
    const partial = new BlobStore(join(tmp, 'partial'));
    const broken = await makeSyntheticImage(partial, { layerSizes: [1000], seed: 'partial' });
    await unlink(partial.path(broken.layers[0]?.digest as Descriptor['digest']));
    await assert.rejects(pushImage(partial, broken.manifest, parseReference(`${proxy.host}/partial:1`)), /blob sha256:[0-9a-f]{64} of manifest sha256:[0-9a-f]{64} is not in the local store/);
    assert.equal(proxy.requests.length, from);
  });
});

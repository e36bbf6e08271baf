import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.ts';
import { BlobStore, digestOf } from '../image/blob-store.ts';
import { MediaType, type Digest } from '../image/oci.ts';
import { parseReference } from '../image/reference.ts';
import { makeBusyboxLayout, pushBase } from '../../test/helpers/base-image.ts';
import { startFakeRegistry, type FakeRegistry } from '../../test/helpers/fake-registry.ts';
import { makeMultiArchLayout, type MultiArchLayout } from '../../test/helpers/multi-arch.ts';
import { freePort, startRegistry, type TestRegistry } from '../../test/helpers/registry.ts';
import { startRegistryProxy } from '../../test/helpers/registry-proxy.ts';
import { pushLayout, servedManifestDigest } from '../../test/helpers/skopeo.ts';
import { pullImage, resolveManifest, type PullProgress } from './client.ts';

let tmp: string;
let reg: TestRegistry;
let multi: MultiArchLayout;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-pull-test-'));
  reg = await startRegistry();
  const layout = await makeBusyboxLayout(join(tmp, 'base'));
  multi = await makeMultiArchLayout(layout, join(tmp, 'multi'));
  await Promise.all([
    pushBase(reg.host, layout),
    pushBase(reg.host, layout, 'docker/busybox:1.35', { format: 'v2s2' }),
    pushLayout(reg.host, multi.layoutDir, multi.tag, 'busybox:multi'),
  ]);
});

after(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let stores = 0;
function freshStore(): BlobStore {
  return new BlobStore(join(tmp, `store-${++stores}`));
}

async function rejectsWith(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('pullImage from a real registry', () => {
  test('pulls the busybox base: manifest digest as served, layers verified and stored', async () => {
    const store = freshStore();
    const events: PullProgress[] = [];
    const image = await pullImage(parseReference(`${reg.host}/busybox:1.35`), store, { onProgress: (e) => events.push(e) });

    assert.equal(image.manifest.digest, await servedManifestDigest(reg.host, 'busybox:1.35'));
    assert.equal(image.manifest.mediaType, MediaType.manifest);
    assert.ok(await store.has(image.manifest.digest), 'manifest bytes stored');
    assert.equal(await store.size(image.manifest.digest), image.manifest.size);

    assert.equal(image.config.architecture, 'amd64');
    assert.deepEqual(image.config.config?.Cmd, ['sh']);
    assert.equal(image.layers.length, 1);
    const [layer] = image.layers;
    assert.ok(layer);
    assert.equal(layer.diffId, image.config.rootfs.diff_ids[0]);
    assert.ok(await store.has(layer.descriptor.digest), 'layer blob stored');
    const tar = gunzipSync(await store.readBytes(layer.descriptor.digest));
    assert.equal(`sha256:${createHash('sha256').update(tar).digest('hex')}`, layer.diffId);

    assert.deepEqual(events[0], { type: 'manifest', descriptor: image.manifest });
    assert.ok(events.some((e) => e.type === 'layer-progress' && e.received === layer.descriptor.size));
    assert.deepEqual(events.at(-1), { type: 'layer-done', digest: layer.descriptor.digest, size: layer.descriptor.size });
  });

  test('a second pull into the same store downloads no layer again', async () => {
    const store = freshStore();
    const ref = parseReference(`${reg.host}/busybox:1.35`);
    await pullImage(ref, store);
    const events: PullProgress[] = [];
    const again = await pullImage(ref, store, { onProgress: (e) => events.push(e) });
    assert.deepEqual(
      events.map((e) => e.type),
      ['manifest', 'layer-cached'],
    );
    assert.equal(again.layers.length, 1);
  });

  test('pulls by digest', async () => {
    const digest = await servedManifestDigest(reg.host, 'busybox:1.35');
    const store = freshStore();
    const image = await pullImage(parseReference(`${reg.host}/busybox@${digest}`), store);
    assert.equal(image.manifest.digest, digest);
    assert.equal(image.layers.length, 1);
  });

  test('pulls a Docker schema 2 image', async () => {
    const image = await pullImage(parseReference(`${reg.host}/docker/busybox:1.35`), freshStore());
    assert.equal(image.manifest.mediaType, MediaType.dockerManifest);
    assert.equal(image.manifest.digest, await servedManifestDigest(reg.host, 'docker/busybox:1.35'));
    assert.equal(image.layers[0]?.descriptor.mediaType, MediaType.dockerLayerGzip);
  });

  test('resolveManifest gives the descriptor pullImage pulls', async () => {
    const ref = parseReference(`${reg.host}/busybox:1.35`);
    const resolved = await resolveManifest(ref);
    const pulled = await pullImage(ref, freshStore());
    assert.deepEqual(resolved, pulled.manifest);
  });

  test('from a multi-platform index, takes linux/amd64 by default', async () => {
    const ref = parseReference(`${reg.host}/busybox:multi`);
    const image = await pullImage(ref, freshStore());
    assert.equal(image.manifest.digest, multi.amd64.digest);
    assert.equal(image.config.architecture, 'amd64');
  });

  test('from a multi-platform index, takes the platform asked for', async () => {
    const ref = parseReference(`${reg.host}/busybox:multi`);
    const image = await pullImage(ref, freshStore(), { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(image.manifest.digest, multi.arm64.digest);
    assert.equal(image.config.architecture, 'arm64');
  });

  test('a platform the index lacks is a UserError listing what it has', async () => {
    const ref = parseReference(`${reg.host}/busybox:multi`);
    await rejectsWith(
      pullImage(ref, freshStore(), { platform: { os: 'linux', architecture: 's390x' } }),
      `${reg.host}/busybox:multi: no image for platform linux/s390x (the index has linux/arm64/v8, linux/amd64)`,
    );
  });

  test('a missing tag is a one-line 404 UserError', async () => {
    await rejectsWith(pullImage(parseReference(`${reg.host}/busybox:9.9`), freshStore()), `${reg.host}/busybox:9.9: manifest unknown (HTTP 404)`);
  });

  test('a registry under a name that is not a loopback one gets HTTPS, unless named insecure', async () => {
    const proxy = await startRegistryProxy(reg.host, undefined, '0.0.0.0');
    const host = `${hostname()}:${proxy.host.split(':')[1]}`;
    try {
      await rejectsWith(
        pullImage(parseReference(`${host}/busybox:1.35`), freshStore()),
        `cannot reach registry ${host} over HTTPS: it answers in plain HTTP; name it as an insecure registry (--insecure-registry ${host})`,
      );
      const image = await pullImage(parseReference(`${host}/busybox:1.35`), freshStore(), { insecureRegistries: [host] });
      assert.equal(image.manifest.digest, await servedManifestDigest(reg.host, 'busybox:1.35'));
    } finally {
      await proxy.stop();
    }
  });

  test('a port with nothing listening is "connection refused"', async () => {
    const port = await freePort();
    await rejectsWith(
      pullImage(parseReference(`127.0.0.1:${port}/busybox:1.35`), freshStore()),
      `cannot reach registry 127.0.0.1:${port}: connection refused`,
    );
  });
});

describe('pullImage against a misbehaving registry', () => {
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: { mediaType: MediaType.config, digest: digestOf('{}'), size: 2 },
      layers: [],
    }),
  );
  const otherDigest: Digest = digestOf('something else');
  const configBytes = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('uncompressed')] } }),
  );
  const layerBytes = Buffer.from('not really a layer');
  // a config that gives two diff_ids for the manifest's one layer, and the manifest that points at it
  const twoDiffIds = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('a'), digestOf('b')] } }),
  );
  const miscountedManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: { mediaType: MediaType.config, digest: digestOf(twoDiffIds), size: twoDiffIds.length },
      layers: [{ mediaType: MediaType.layerGzip, digest: digestOf(layerBytes), size: layerBytes.length }],
    }),
  );
  const liarManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: { mediaType: MediaType.config, digest: digestOf(configBytes), size: configBytes.length },
      layers: [{ mediaType: MediaType.layerGzip, digest: otherDigest, size: layerBytes.length }],
    }),
  );
  let fake: FakeRegistry;
  let deadPort: number;

  before(async () => {
    deadPort = await freePort();
    fake = await startFakeRegistry({
      'GET /v2/app/manifests/bad-header': (_req, res) => {
        res.writeHead(200, { 'content-type': MediaType.manifest, 'docker-content-digest': otherDigest });
        res.end(manifestBytes);
      },
      [`GET /v2/app/manifests/${otherDigest}`]: (_req, res) => {
        res.writeHead(200, { 'content-type': MediaType.manifest });
        res.end(manifestBytes);
      },
      'GET /v2/private/manifests/1': (_req, res) => {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://127.0.0.1:${deadPort}/token",service="registry.example",scope="repository:private:pull"`,
          'content-type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      },
      'GET /v2/liar/manifests/1': (_req, res) => {
        res.writeHead(200, { 'content-type': MediaType.manifest });
        res.end(liarManifest);
      },
      [`GET /v2/liar/blobs/${digestOf(configBytes)}`]: (_req, res) => res.end(configBytes),
      [`GET /v2/liar/blobs/${otherDigest}`]: (_req, res) => res.end(layerBytes),
      'GET /v2/miscounted/manifests/1': (_req, res) => {
        res.writeHead(200, { 'content-type': MediaType.manifest });
        res.end(miscountedManifest);
      },
      [`GET /v2/miscounted/blobs/${digestOf(twoDiffIds)}`]: (_req, res) => res.end(twoDiffIds),
      [`GET /v2/miscounted/blobs/${digestOf(layerBytes)}`]: (_req, res) => res.end(layerBytes),
      'GET /v2/cut/manifests/1': (_req, res) => {
        res.writeHead(200, { 'content-type': MediaType.manifest });
        res.end(liarManifest);
      },
      [`GET /v2/cut/blobs/${digestOf(configBytes)}`]: (_req, res) => res.end(configBytes),
      [`GET /v2/cut/blobs/${otherDigest}`]: (_req, res) => {
        // promise more than is sent, then hang up mid-body
        res.writeHead(200, { 'content-length': String(layerBytes.length * 10) });
        res.write(layerBytes);
        setTimeout(() => res.socket?.destroy(), 20);
      },
    });
  });
  after(() => fake?.stop());

  test('a manifest that does not hash to the pinned digest is rejected', async () => {
    await rejectsWith(
      pullImage(parseReference(`${fake.host}/app@${otherDigest}`), freshStore()),
      `${fake.host}/app@${otherDigest}: manifest digest mismatch: expected ${otherDigest}, got ${digestOf(manifestBytes)}`,
    );
  });

  test('a manifest that contradicts Docker-Content-Digest is rejected', async () => {
    await rejectsWith(pullImage(parseReference(`${fake.host}/app:bad-header`), freshStore()), /app:bad-header: manifest digest mismatch/);
  });

  test('a layer blob that does not match its digest is rejected and not stored', async () => {
    const store = freshStore();
    await rejectsWith(
      pullImage(parseReference(`${fake.host}/liar:1`), store),
      new RegExp(`liar:1: blob ${otherDigest}: digest mismatch`),
    );
    assert.equal(await store.has(otherDigest), false);
    assert.deepEqual(await readdir(join(store.root, 'ingest')), [], 'no partial download left');
  });

  test('a config whose diff_ids do not match the layers fails the pull, whatever the layer downloads did meanwhile', async () => {
    const store = freshStore();
    await rejectsWith(
      pullImage(parseReference(`${fake.host}/miscounted:1`), store),
      `${fake.host}/miscounted:1: config ${digestOf(twoDiffIds)}: rootfs.diff_ids must list one sha256 digest per layer, and the manifest has 1 layer`,
    );
    assert.deepEqual(await readdir(join(store.root, 'ingest')), []);
  });

  test('a connection that always drops mid-blob is retried a bounded number of times, then a UserError; nothing is left behind', async () => {
    const store = freshStore();
    const before = fake.requests.length;
    await rejectsWith(
      pullImage(parseReference(`${fake.host}/cut:1`), store, { retry: { baseDelayMs: 1 } }),
      `${fake.host}/cut:1: blob ${otherDigest}: connection failed (the registry closed the connection mid-transfer) after 5 attempts`,
    );
    assert.equal(fake.requests.slice(before).filter((r) => r === `GET /v2/cut/blobs/${otherDigest}`).length, 5);
    assert.equal(await store.has(otherDigest), false);
    assert.deepEqual(await readdir(join(store.root, 'ingest')), []);
  });

  test('a Bearer challenge whose token server is down is a UserError naming the token server', async () => {
    await rejectsWith(
      pullImage(parseReference(`${fake.host}/private:1`), freshStore()),
      `cannot reach token server http://127.0.0.1:${deadPort}/token for ${fake.host}: connect ECONNREFUSED 127.0.0.1:${deadPort}`,
    );
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../errors.ts';
import { BlobStore } from '../image/blob-store.ts';
import type { Descriptor } from '../image/oci.ts';
import { parseReference } from '../image/reference.ts';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.ts';
import { startRegistryProxy, type ProxyContext, type RegistryProxy } from '../../test/helpers/registry-proxy.ts';
import { servedManifestDigest } from '../../test/helpers/skopeo.ts';
import { makeSyntheticImage, type SyntheticImage } from '../../test/helpers/synthetic-image.ts';
import { pullImage, pushImage } from './client.ts';

/**
 * Each fault is injected by a proxy in front of a real docker-registry, so
 * everything but the fault is the registry's own behaviour (its Range
 * support, its upload sessions).
 */
let tmp: string;
let reg: TestRegistry;
let store: BlobStore;
let image: SyntheticImage;
let layer: Descriptor;
let stores = 0;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-faults-test-'));
  reg = await startRegistry();
  store = new BlobStore(join(tmp, 'store'));
  image = await makeSyntheticImage(store, { layerSizes: [400_000], seed: 'faults' });
  layer = image.layers[0] as Descriptor;
  await pushImage(store, image.manifest, parseReference(`${reg.host}/app:1`));
});

after(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function freshStore(): BlobStore {
  return new BlobStore(join(tmp, `store-${++stores}`));
}

/** A proxy for one test, stopped after it. */
async function withProxy(intercept: (c: ProxyContext) => void, body: (proxy: RegistryProxy) => Promise<void>): Promise<void> {
  const proxy = await startRegistryProxy(reg.host, intercept);
  try {
    await body(proxy);
  } finally {
    await proxy.stop();
  }
}

/** Cuts the first GET of `path` off after `bytes` bytes of its body. */
const cutOnce =
  (path: string, bytes: number) =>
  (c: ProxyContext): void =>
    c.path === path && c.seen === 1 ? c.forward({ cutAfterBytes: bytes }) : c.forward();

/** The same, and then plays a registry that ignores Range: later GETs of `path` go on without the header. */
const cutOnceThenIgnoreRange =
  (path: string, bytes: number) =>
  (c: ProxyContext): void => {
    if (c.path !== path || c.seen === 1) return cutOnce(path, bytes)(c);
    const headers = { ...c.req.headers };
    delete headers.range;
    c.forward({ headers });
  };

const failure = (message: string): string => JSON.stringify({ errors: [{ code: 'UNKNOWN', message }] });
const statuses = (proxy: RegistryProxy, method: string, path: string): number[] =>
  proxy.requests.filter((r) => r.method === method && r.path === path).map((r) => r.status);

describe('pull through faults', () => {
  test('a registry that answers 500 twice, then succeeds: the pull retries and succeeds', async () => {
    await withProxy(
      (c) => (c.path === '/v2/app/manifests/1' && c.seen <= 2 ? c.answer(500, failure('injected')) : c.forward()),
      async (proxy) => {
        const pulled = await pullImage(parseReference(`${proxy.host}/app:1`), freshStore());
        assert.equal(pulled.manifest.digest, image.manifest.digest);
        assert.deepEqual(statuses(proxy, 'GET', '/v2/app/manifests/1'), [500, 500, 200]);
      },
    );
  });

  test('429 with Retry-After, then 503, on a blob: retried and stored', async () => {
    const path = `/v2/app/blobs/${layer.digest}`;
    await withProxy(
      (c) => {
        if (c.path === path && c.seen === 1) return c.answer(429, failure('slow down'), { 'retry-after': '0' });
        if (c.path === path && c.seen === 2) return c.answer(503, failure('unavailable'));
        c.forward();
      },
      async (proxy) => {
        const s = freshStore();
        await pullImage(parseReference(`${proxy.host}/app:1`), s);
        assert.ok(await s.has(layer.digest));
        assert.deepEqual(statuses(proxy, 'GET', path), [429, 503, 200]);
      },
    );
  });

  test('a registry that keeps failing: given up after five tries, naming registry, repository and status', async () => {
    await withProxy(
      (c) => (c.path === '/v2/app/manifests/1' ? c.answer(502, failure('bad gateway')) : c.forward()),
      async (proxy) => {
        await assert.rejects(pullImage(parseReference(`${proxy.host}/app:1`), freshStore(), { retry: { baseDelayMs: 1 } }), (e: unknown) => {
          assert.ok(e instanceof UserError);
          assert.equal(e.message, `${proxy.host}/app:1: bad gateway (HTTP 502) after 5 attempts`);
          return true;
        });
        assert.equal(statuses(proxy, 'GET', '/v2/app/manifests/1').length, 5);
      },
    );
  });

  test('a connection closed mid-blob: the download resumes where it stopped with a Range request', async () => {
    const path = `/v2/app/blobs/${layer.digest}`;
    await withProxy(cutOnce(path, 150_000), async (proxy) => {
      const s = freshStore();
      await pullImage(parseReference(`${proxy.host}/app:1`), s);
      assert.equal(await s.size(layer.digest), layer.size);
      const gets = proxy.requests.filter((r) => r.path === path);
      assert.equal(gets.length, 2);
      assert.equal(gets[0]?.headers.range, undefined);
      const offset = Number(/^bytes=(\d+)-$/.exec(gets[1]?.headers.range ?? '')?.[1]);
      assert.ok(offset > 0 && offset <= 150_000, `resumed at ${gets[1]?.headers.range}`);
      assert.equal(gets[1]?.status, 206);
      assert.deepEqual(await readdir(join(s.root, 'ingest')), []);
    });
  });

  test('a connection closed mid-blob by a registry that ignores Range: read again, the stored part skipped', async () => {
    const path = `/v2/app/blobs/${layer.digest}`;
    await withProxy(cutOnceThenIgnoreRange(path, 150_000), async (proxy) => {
      const s = freshStore();
      await pullImage(parseReference(`${proxy.host}/app:1`), s);
      assert.equal(await s.size(layer.digest), layer.size);
      assert.deepEqual(statuses(proxy, 'GET', path), [200, 200]);
    });
  });
});

describe('pull of a layer big enough for the writer threads, through faults', () => {
  let big: SyntheticImage;
  let bigLayer: Descriptor;
  let path: string;

  before(async () => {
    // above pull.ts's OFF_THREAD_MIN_BYTES (8 MiB): hashed and written on a worker thread
    big = await makeSyntheticImage(store, { layerSizes: [9_000_000], seed: 'faults-big' });
    bigLayer = big.layers[0] as Descriptor;
    path = `/v2/big/blobs/${bigLayer.digest}`;
    await pushImage(store, big.manifest, parseReference(`${reg.host}/big:1`));
  });

  test('a connection closed mid-blob: resumed with a Range request, stored whole', async () => {
    await withProxy(cutOnce(path, 3_000_000), async (proxy) => {
      const s = freshStore();
      await pullImage(parseReference(`${proxy.host}/big:1`), s);
      assert.equal(await s.size(bigLayer.digest), bigLayer.size);
      assert.equal((await s.readBytes(bigLayer.digest)).length, bigLayer.size, 'stored bytes hash to the digest');
      const gets = proxy.requests.filter((r) => r.path === path);
      assert.deepEqual(gets.map((r) => r.status), [200, 206]);
      assert.deepEqual(await readdir(join(s.root, 'ingest')), []);
    });
  });

  test('a connection closed mid-blob by a registry that ignores Range: read again, the stored part skipped', async () => {
    await withProxy(cutOnceThenIgnoreRange(path, 3_000_000), async (proxy) => {
      const s = freshStore();
      await pullImage(parseReference(`${proxy.host}/big:1`), s);
      assert.equal((await s.readBytes(bigLayer.digest)).length, bigLayer.size);
      assert.deepEqual(statuses(proxy, 'GET', path), [200, 200]);
    });
  });

  test('bytes that do not match the digest: refused, nothing stored under it, nothing left behind', async () => {
    await withProxy(
      (c) => (c.path === path ? c.answer(200, 'x'.repeat(bigLayer.size), { 'content-type': 'application/octet-stream' }) : c.forward()),
      async (proxy) => {
        const s = freshStore();
        await assert.rejects(pullImage(parseReference(`${proxy.host}/big:1`), s), (e: unknown) => {
          assert.ok(e instanceof UserError);
          assert.match(e.message, new RegExp(`^${proxy.host}/big:1: blob ${bigLayer.digest}: digest mismatch: expected ${bigLayer.digest}, got sha256:`));
          return true;
        });
        assert.equal(await s.has(bigLayer.digest), false);
        assert.deepEqual(await readdir(join(s.root, 'ingest')), []);
      },
    );
  });
});

describe('push through faults', () => {
  test('starting an upload fails with 500 twice, then succeeds', async () => {
    await withProxy(
      (c) => (c.method === 'POST' && c.seen <= 2 ? c.answer(500, failure('injected')) : c.forward()),
      async (proxy) => {
        const fresh = await makeSyntheticImage(store, { layerSizes: [20_000], seed: 'push-500' });
        await pushImage(store, fresh.manifest, parseReference(`${proxy.host}/retried:1`), { retry: { baseDelayMs: 1 } });
        assert.deepEqual(statuses(proxy, 'POST', '/v2/retried/blobs/uploads/').slice(0, 3), [500, 500, 202]);
        assert.equal(await servedManifestDigest(reg.host, 'retried:1'), fresh.manifest.digest);
      },
    );
  });

  test('a connection dropped while a blob is uploading: the upload starts over in a new session', async () => {
    let cut = false;
    await withProxy(
      (c) => {
        const uploading = c.method === 'PUT' && c.path.startsWith('/v2/resumed/blobs/uploads/') && c.req.headers['content-length'] === String(layer.size);
        if (uploading && !cut) {
          cut = true;
          c.req.once('data', () => c.req.socket.destroy());
          return;
        }
        c.forward();
      },
      async (proxy) => {
        await pushImage(store, image.manifest, parseReference(`${proxy.host}/resumed:1`));
        assert.ok(cut, 'the fault was injected');
        const uploads = statuses(proxy, 'POST', '/v2/resumed/blobs/uploads/');
        assert.equal(uploads.length, 3, 'config, layer, and the layer again');
        assert.equal(await servedManifestDigest(reg.host, 'resumed:1'), image.manifest.digest);
      },
    );
  });
});

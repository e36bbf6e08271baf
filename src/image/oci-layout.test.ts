import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../errors.ts';
import { BlobStore } from './blob-store.ts';
import { storeImage } from './image-writer.ts';
import { writeLayer } from './layer-writer.ts';
import { MediaType, type Descriptor, type ImageConfig, type Index, type Layer } from './oci.ts';
import { exportOciLayout, importOciLayout } from './oci-layout.ts';
import { ensureTool, sh } from './test-support.ts';

let tmp: string;
let store: BlobStore;
let layer: Layer;
let config: ImageConfig;
let image: { manifest: Descriptor; config: Descriptor };

before(async () => {
  ensureTool('getfattr', 'attr');
  ensureTool('skopeo', 'skopeo');
  ensureTool('umoci', 'umoci');
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-oci-layout-'));
  store = new BlobStore(join(tmp, 'store'));
  const rootfs = join(tmp, 'rootfs');
  sh(`
    mkdir -p '${rootfs}/bin' '${rootfs}/etc'
    printf '#!/bin/sh\\necho hi\\n' > '${rootfs}/bin/hello' && chmod 755 '${rootfs}/bin/hello'
    echo 'name=test' > '${rootfs}/etc/app.conf'
  `);
  layer = await writeLayer(rootfs, store, { sourceDateEpoch: 1_700_000_000 });
  config = {
    created: '2023-11-14T22:13:20Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/hello'], WorkingDir: '/', Labels: { 'a<b': 'x&y' } },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: '2023-11-14T22:13:20Z', created_by: 'COPY rootfs / # buildkit', comment: 'buildkit.dockerfile.v0' }],
  };
  image = await storeImage(store, config, [layer]);
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('storeImage', () => {
  test('stores the config and manifest bytes it hashes', async () => {
    assert.equal(image.config.mediaType, MediaType.config);
    assert.equal(image.manifest.mediaType, MediaType.manifest);
    const configBytes = await store.readBytes(image.config.digest);
    assert.equal(configBytes.toString(), JSON.stringify(config));
    assert.equal(configBytes.length, image.config.size);
    const manifest = await store.readJson<Record<string, unknown>>(image.manifest.digest);
    assert.deepEqual(manifest, {
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: image.config,
      layers: [layer.descriptor],
    });
    assert.equal((await store.readBytes(image.manifest.digest)).length, image.manifest.size);
  });
});

describe('exportOciLayout', () => {
  let dest: string;

  before(async () => {
    dest = join(tmp, 'out', 'layout');
    await exportOciLayout(store, image.manifest, dest, { name: 'example.com/team/app:v1' });
  });

  test('writes oci-layout, index.json with both name annotations, and every blob', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(dest, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as Index;
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, MediaType.index);
    assert.deepEqual(index.manifests, [
      {
        ...image.manifest,
        annotations: { 'io.containerd.image.name': 'example.com/team/app:v1', 'org.opencontainers.image.ref.name': 'v1' },
      },
    ]);
    const blobs = readdirSync(join(dest, 'blobs', 'sha256')).sort();
    const expected = [image.manifest, image.config, layer.descriptor].map((d) => d.digest.slice(7)).sort();
    assert.deepEqual(blobs, expected);
    for (const hex of blobs) assert.equal(sh(`sha256sum '${join(dest, 'blobs', 'sha256', hex)}'`).split(' ')[0], hex);
    assert.equal(statSync(join(dest, 'blobs', 'sha256', layer.descriptor.digest.slice(7))).nlink, 2, 'hardlinked from the store');
    assert.deepEqual(readdirSync(join(tmp, 'out')), ['layout'], 'no temp dirs left behind');
  });

  test('skopeo inspects the manifest and the config', () => {
    const inspected = JSON.parse(sh(`skopeo inspect 'oci:${dest}:v1'`)) as { Digest: string; Layers: string[]; Architecture: string };
    assert.equal(inspected.Digest, image.manifest.digest);
    assert.deepEqual(inspected.Layers, [layer.descriptor.digest]);
    assert.equal(inspected.Architecture, 'amd64');
    const inspectedConfig = JSON.parse(sh(`skopeo inspect --config 'oci:${dest}'`)) as ImageConfig;
    assert.deepEqual(inspectedConfig.rootfs.diff_ids, [layer.diffId]);
    assert.deepEqual(inspectedConfig.config?.Cmd, ['/bin/hello']);
  });

  test('umoci unpacks the files', () => {
    const bundle = join(tmp, 'bundle');
    sh(`umoci unpack --image '${dest}:v1' '${bundle}' >/dev/null 2>&1`);
    assert.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'app.conf'), 'utf8'), 'name=test\n');
    assert.equal(statSync(join(bundle, 'rootfs', 'bin', 'hello')).mode & 0o777, 0o755);
  });

  test('importOciLayout brings the image into another store, verified', async () => {
    const other = new BlobStore(join(tmp, 'store2'));
    const imported = await importOciLayout(dest, other, 'v1');
    assert.deepEqual(imported, image.manifest);
    for (const d of [image.manifest, image.config, layer.descriptor]) assert.ok(await other.has(d.digest));
    assert.deepEqual(await importOciLayout(dest, new BlobStore(join(tmp, 'store3'))), image.manifest);
    await assert.rejects(importOciLayout(dest, other, 'nope'), (e) => e instanceof UserError && /has: v1/.test(e.message));
  });

  test('import rejects a tampered blob', async () => {
    const copy = join(tmp, 'tampered');
    sh(`cp -r '${dest}' '${copy}' && chmod -R u+w '${copy}' && printf x >> '${copy}/blobs/sha256/${layer.descriptor.digest.slice(7)}'`);
    await assert.rejects(importOciLayout(copy, new BlobStore(join(tmp, 'store4'))), (e) => e instanceof UserError && /mismatch/.test(e.message));
  });

  test('exporting again replaces the layout; a non-layout destination is refused', async () => {
    await exportOciLayout(store, image.manifest, dest);
    const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as Index;
    assert.equal(index.manifests[0]?.annotations, undefined);
    const precious = join(tmp, 'precious');
    await mkdir(precious);
    await writeFile(join(precious, 'keep.txt'), 'mine');
    await assert.rejects(exportOciLayout(store, image.manifest, precious), (e) => e instanceof UserError);
    assert.deepEqual(readdirSync(precious), ['keep.txt']);
  });

  test('a failed export leaves nothing behind', async () => {
    const missing: Descriptor = { mediaType: MediaType.manifest, digest: `sha256:${'1'.repeat(64)}`, size: 10 };
    const target = join(tmp, 'failed', 'layout');
    await assert.rejects(exportOciLayout(store, missing, target), (e) => e instanceof UserError && /missing/.test(e.message));
    assert.ok(!existsSync(target));
    assert.ok(!existsSync(join(tmp, 'failed')) || readdirSync(join(tmp, 'failed')).length === 0);
  });
});

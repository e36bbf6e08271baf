import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../errors.ts';
import { BlobStore } from '../image/blob-store.ts';
import { storeImage } from '../image/image-writer.ts';
import { writeLayer } from '../image/layer-writer.ts';
import { MediaType, type Descriptor, type ImageConfig, type Index, type Layer } from '../image/oci.ts';
import { parseReference } from '../image/reference.ts';
import { ensureTool, Mounts, NET_BIND_CAP_HEX, sh, snapshotTree, type NodeInfo } from '../image/test-support.ts';
import { exportOutputs, type ExportContext, type OutputSpec } from './export.ts';

let tmp: string;
let root: string;
let store: BlobStore;
let layers: Layer[];
let image: { manifest: Descriptor; config: Descriptor };
/** The source filesystem: the two layers' trees merged by overlayfs itself. */
let expected: Record<string, NodeInfo>;
const mounts = new Mounts();

/** Everything but mtimes, which tools may or may not restore on directories and links. */
function shape(tree: Record<string, NodeInfo>): Record<string, Omit<NodeInfo, 'mtime'>> {
  return Object.fromEntries(Object.entries(tree).map(([p, { mtime: _mtime, ...rest }]) => [p, rest]));
}

function config(diffIds: Layer['diffId'][]): ImageConfig {
  return {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/true'], Healthcheck: { Test: ['CMD', 'true'], Interval: 30_000_000_000 }, Shell: ['/bin/sh', '-c'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [
      { created: '2024-01-01T00:00:00Z', created_by: 'COPY . / # buildkit', comment: 'buildkit.dockerfile.v0' },
      { created: '2024-01-01T00:00:00Z', created_by: 'ENV A=b', comment: 'buildkit.dockerfile.v0', empty_layer: true },
      { created: '2024-01-01T00:00:00Z', created_by: 'RUN edit # buildkit', comment: 'buildkit.dockerfile.v0' },
    ],
  };
}

function ctx(overrides: Partial<ExportContext> = {}): ExportContext {
  return { store, manifest: image.manifest, tags: [parseReference('example.com/team/app:v1')], root, progress: () => undefined, ...overrides };
}

const out = (name: string): string => join(tmp, 'out', name);
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

before(async () => {
  ensureTool('getfattr', 'attr');
  ensureTool('skopeo', 'skopeo');
  ensureTool('umoci', 'umoci');
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-export-'));
  root = join(tmp, 'root');
  store = new BlobStore(join(root, 'blobs'));
  const lower = join(tmp, 'lower');
  const upper = join(tmp, 'upper');
  sh(`
    cd '${tmp}' && mkdir lower upper work merged view
    cd lower
    mkdir -p usr/bin etc/app 'sp ace/ü' gone/deep redo keepdir && chmod 750 keepdir && chown 1000:1000 keepdir
    echo hello > usr/bin/tool && chmod 4755 usr/bin/tool
    echo cfg > etc/app/conf && chown 1234:5678 etc/app/conf && chmod 640 etc/app/conf
    ln -s ../etc/app/conf usr/conf-link && ln -s /nonexistent dangling
    echo twin > usr/a && ln usr/a etc/b
    echo weird > 'sp ace/ü/naïve file' && : > empty
    mkfifo etc/fifo && mknod usr/null c 1 3
    echo cap > usr/bin/capped && setfattr -n security.capability -v ${NET_BIND_CAP_HEX} usr/bin/capped
    echo note > etc/noted && setfattr -n user.note -v hi etc/noted
    mkdir -p "deep/${'d'.repeat(80)}/${'e'.repeat(80)}" && echo long > "deep/${'d'.repeat(80)}/${'e'.repeat(80)}/${'f'.repeat(90)}"
    echo x > gone/deep/x && echo old > redo/old && echo bye > bye.txt
  `);
  const layer1 = await writeLayer(lower, store);
  mounts.overlay([lower], join(tmp, 'merged'), { upper, work: join(tmp, 'work') });
  sh(`
    cd '${tmp}/merged'
    rm bye.txt && rm -rf gone
    rm -rf redo && mkdir redo && echo new > redo/new
    chmod 600 etc/app/conf && echo added > added.txt
  `);
  mounts.unmount(join(tmp, 'merged'));
  const layer2 = await writeLayer(upper, store);
  layers = [layer1, layer2];
  mounts.overlay([upper, lower], join(tmp, 'view'));
  expected = snapshotTree(join(tmp, 'view'));
  mounts.unmount(join(tmp, 'view'));
  image = await storeImage(store, config([layer1.diffId, layer2.diffId]), layers);
  await mkdir(join(tmp, 'out'));
});

after(async () => {
  mounts.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('exporters', () => {
  test('the source tree has what the layers must carry', () => {
    assert.equal(expected['redo/new']?.type, 'file');
    assert.equal(expected['redo/old'], undefined);
    assert.equal(expected['gone'], undefined);
    assert.equal(expected['bye.txt'], undefined);
    assert.equal(expected['etc/app/conf']?.mode, '600');
    assert.match(expected['usr/bin/capped']?.xattrs ?? '', /security.capability/);
  });

  test('type=oci,tar=false: skopeo reads oci:, umoci unpacks a rootfs equal to the source', async () => {
    const dest = out('layout');
    await exportOutputs([{ type: 'oci', dest, tar: false }], ctx());
    const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as Index;
    assert.deepEqual(index.manifests[0]?.annotations, {
      'io.containerd.image.name': 'example.com/team/app:v1',
      'org.opencontainers.image.ref.name': 'v1',
    });
    const inspected = JSON.parse(sh(`skopeo inspect 'oci:${dest}:v1'`)) as { Digest: string; Layers: string[] };
    assert.equal(inspected.Digest, image.manifest.digest);
    assert.deepEqual(inspected.Layers, layers.map((l) => l.descriptor.digest));
    sh(`skopeo copy 'oci:${dest}:v1' 'oci:${out('copied-from-dir')}:v1' >/dev/null`);
    const bundle = out('bundle');
    sh(`umoci unpack --image '${dest}:v1' '${bundle}' >/dev/null 2>&1`);
    assert.deepEqual(shape(snapshotTree(join(bundle, 'rootfs'))), shape(expected));
  });

  test('type=oci (tar): skopeo inspects and copies oci-archive:', async () => {
    const dest = out('image.oci.tar');
    await exportOutputs([{ type: 'oci', dest, tar: true, names: ['app:1', 'app:2'] }], ctx());
    const names = sh(`tar -tf '${dest}'`).trim().split('\n');
    assert.deepEqual(names.slice(0, 4), ['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/']);
    const inspected = JSON.parse(sh(`skopeo inspect 'oci-archive:${dest}:2'`)) as { Digest: string };
    assert.equal(inspected.Digest, image.manifest.digest);
    sh(`skopeo copy 'oci-archive:${dest}:1' 'oci:${out('copied-from-archive')}:x' >/dev/null`);
    assert.ok(existsSync(join(out('copied-from-archive'), 'index.json')));
  });

  test('type=docker: one tar that docker-archive: and oci-archive: both read', async () => {
    const dest = out('image.docker.tar');
    await exportOutputs([{ type: 'docker', dest, tar: true }], ctx({ tags: [parseReference('app:1'), parseReference('localhost:5000/x/y:2')] }));
    const manifestJson = JSON.parse(sh(`tar -xOf '${dest}' manifest.json`)) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    assert.deepEqual(manifestJson, [
      {
        Config: `blobs/sha256/${image.config.digest.slice(7)}`,
        RepoTags: ['app:1', 'localhost:5000/x/y:2'],
        Layers: layers.map((l) => `blobs/sha256/${l.descriptor.digest.slice(7)}`),
      },
    ]);
    const viaDocker = JSON.parse(sh(`skopeo inspect 'docker-archive:${dest}'`)) as { Layers: string[] };
    assert.equal(viaDocker.Layers.length, 2);
    const viaOci = JSON.parse(sh(`skopeo inspect 'oci-archive:${dest}:1'`)) as { Digest: string };
    assert.equal(viaOci.Digest, image.manifest.digest);
    sh(`skopeo copy 'docker-archive:${dest}' 'oci:${out('copied-from-docker')}:x' >/dev/null`);
    const config = JSON.parse(sh(`skopeo inspect --config 'oci:${out('copied-from-docker')}:x'`)) as ImageConfig;
    assert.deepEqual(config.rootfs.diff_ids, layers.map((l) => l.diffId));
    const ours = JSON.parse(sh(`tar -xOf '${dest}' blobs/sha256/${image.config.digest.slice(7)}`)) as ImageConfig;
    assert.deepEqual(ours.config?.Healthcheck, { Test: ['CMD', 'true'], Interval: 30_000_000_000 }, "Docker's extensions are kept");
  });

  test('type=local: the final filesystem, equal to the source, whiteouts applied', async () => {
    const dest = out('rootfs');
    await exportOutputs([{ type: 'local', dest }], ctx());
    assert.deepEqual(shape(snapshotTree(dest)), shape(expected));
  });

  test('type=tar: the final filesystem as a tar that GNU tar extracts to the source', async () => {
    const dest = out('rootfs.tar');
    await exportOutputs([{ type: 'tar', dest }], ctx());
    const unpacked = out('rootfs-from-tar');
    sh(`mkdir '${unpacked}' && tar --xattrs --xattrs-include='*' --same-owner -xpf '${dest}' -C '${unpacked}'`);
    assert.deepEqual(shape(snapshotTree(unpacked)), shape(expected));
  });

  test('dest=- writes the same bytes to stdout; never to a terminal; only one output there', async () => {
    const file = out('again.oci.tar');
    await exportOutputs([{ type: 'oci', dest: file, tar: true }], ctx());
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    await exportOutputs([{ type: 'oci', dest: '-', tar: true }], ctx({ stdout: sink }));
    assert.deepEqual(Buffer.concat(chunks), readFileSync(file));
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    await assert.rejects(exportOutputs([{ type: 'tar', dest: '-' }], ctx({ stdout: tty })), (e) => e instanceof UserError && /terminal/.test(e.message));
    const two: OutputSpec[] = [
      { type: 'tar', dest: '-' },
      { type: 'oci', dest: '-', tar: true },
    ];
    await assert.rejects(exportOutputs(two, ctx({ stdout: sink })), (e) => e instanceof UserError && /only one/.test(e.message));
  });

  test('a failed export leaves nothing at the destination or next to it', async () => {
    const missing: Descriptor = { mediaType: MediaType.manifest, digest: `sha256:${'2'.repeat(64)}`, size: 3 };
    const dir = out('failed');
    await mkdir(dir);
    for (const spec of [
      { type: 'oci', dest: join(dir, 'x.tar'), tar: true },
      { type: 'docker', dest: join(dir, 'y'), tar: false },
      { type: 'local', dest: join(dir, 'z') },
      { type: 'tar', dest: join(dir, 'w.tar') },
    ] as OutputSpec[]) {
      await assert.rejects(exportOutputs([spec], ctx({ manifest: missing })), (e) => e instanceof UserError, spec.type);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  test('zstd and uncompressed layers: media types, and the filesystem still round-trips', async () => {
    for (const [compression, mediaType] of [
      ['zstd', MediaType.layerZstd],
      ['none', MediaType.layerTar],
    ] as const) {
      const converted = await storeImage(store, config(layers.map((l) => l.diffId)), layers, { compression: { compression } });
      const dest = out(`${compression}.oci.tar`);
      await exportOutputs([{ type: 'oci', dest, tar: true }], ctx({ manifest: converted.manifest }));
      const raw = JSON.parse(sh(`skopeo inspect --raw 'oci-archive:${dest}:v1'`)) as { layers: Descriptor[] };
      assert.deepEqual(raw.layers.map((l) => l.mediaType), [mediaType, mediaType]);
      const fs = out(`${compression}-rootfs`);
      await exportOutputs([{ type: 'local', dest: fs }], ctx({ manifest: converted.manifest }));
      assert.deepEqual(shape(snapshotTree(fs)), shape(expected), compression);
    }
  });
});

describe('reproducible exports', () => {
  test('the same content with other mtimes on disk gives the same manifest digest and the same tar bytes (SOURCE_DATE_EPOCH)', async () => {
    const epoch = 1_700_000_000;
    const digests: string[] = [];
    const tars: string[] = [];
    for (const [i, when] of ['2023-12-01 10:00:00', '2024-06-30 23:59:59'].entries()) {
      const src = join(tmp, `repro-src-${i}`);
      sh(`
        mkdir -p '${src}/app/sub' && cd '${src}'
        echo one > app/one && echo two > app/sub/two && ln -s one app/link && chmod 700 app/sub
        find . -exec touch -h -d '${when}' {} +
      `);
      const layer = await writeLayer(src, store, { sourceDateEpoch: epoch });
      const created = new Date(epoch * 1000).toISOString();
      const img = await storeImage(store, { ...config([layer.diffId]), created, history: [{ created, created_by: 'COPY app /app' }] }, [layer]);
      digests.push(img.manifest.digest);
      const dest = out(`repro-${i}.tar`);
      await exportOutputs([{ type: 'oci', dest, tar: true }], ctx({ manifest: img.manifest, sourceDateEpoch: epoch }));
      tars.push(sha256(dest));
    }
    assert.equal(digests[0], digests[1]);
    assert.equal(tars[0], tars[1]);
  });
});

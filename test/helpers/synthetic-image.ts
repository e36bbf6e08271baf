/**
 * Images no registry has seen yet, made straight into a blob store: each
 * layer a real gzip'd tar holding one file of pseudo-random bytes (so it
 * does not compress, and its size is what was asked for), with a matching
 * config. The bytes follow from `seed`, so the same call gives the same
 * digests, and different seeds give unrelated blobs.
 *
 *   const image = await makeSyntheticImage(store, { layerSizes: [200_000, 300_000], seed: 'push-test' });
 *   await pushImage(store, image.manifest, parseReference(`${reg.host}/app:1`));
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { BlobStore } from '../../src/image/blob-store.ts';
import { encodeHeader, END_OF_ARCHIVE, padding } from '../../src/image/tar-format.ts';
import { MediaType, type Descriptor, type Digest, type ImageConfig, type Manifest } from '../../src/image/oci.ts';

export interface SyntheticImageOptions {
  /** Size in bytes of the file in each layer; one layer per entry. */
  layerSizes: readonly number[];
  seed?: string;
}

export interface SyntheticImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/** Bytes generated at a time; big pieces keep generating 100 MB layers quick. */
const WRITE_CHUNK = 1 << 20;

export async function makeSyntheticImage(store: BlobStore, opts: SyntheticImageOptions): Promise<SyntheticImage> {
  const seed = opts.seed ?? 'tsbuild';
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const [i, size] of opts.layerSizes.entries()) {
    const { descriptor, diffId } = await makeLayer(store, `${seed}/${i}`, `data/layer-${i}.bin`, size);
    layers.push(descriptor);
    diffIds.push(diffId);
  }
  const configJson: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '2020-01-01T00:00:00Z',
    config: { Cmd: ['/bin/true'], Labels: { 'tsbuild.test.seed': seed } },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const configBlob = await store.putBytes(Buffer.from(JSON.stringify(configJson)));
  const config: Descriptor = { mediaType: MediaType.config, ...configBlob };
  const manifestJson: Manifest = { schemaVersion: 2, mediaType: MediaType.manifest, config, layers };
  const manifestBlob = await store.putBytes(Buffer.from(JSON.stringify(manifestJson)));
  return { manifest: { mediaType: MediaType.manifest, ...manifestBlob }, config, layers };
}

async function makeLayer(store: BlobStore, seed: string, name: string, size: number): Promise<{ descriptor: Descriptor; diffId: Digest }> {
  const diff = createHash('sha256');
  async function* hashed(): AsyncGenerator<Buffer> {
    for (const chunk of tarOfOneFile(seed, name, size)) {
      diff.update(chunk);
      yield chunk;
    }
  }
  const blob = await store.putStream(Readable.from(hashed()).pipe(createGzip({ level: 1 })));
  return {
    descriptor: { mediaType: MediaType.layerGzip, digest: blob.digest, size: blob.size },
    diffId: `sha256:${diff.digest('hex')}`,
  };
}

/** A tar with one regular file of `size` seeded pseudo-random bytes. */
function* tarOfOneFile(seed: string, name: string, size: number): Generator<Buffer> {
  yield encodeHeader({ path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });
  // AES-CTR over zeros: a fast, seedable stream of bytes that look random
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(WRITE_CHUNK);
  for (let left = size; left > 0; left -= WRITE_CHUNK) yield cipher.update(zeros.subarray(0, Math.min(left, WRITE_CHUNK)));
  yield padding(size);
  yield END_OF_ARCHIVE;
}

/**
 * Cache records that travel: `--cache-to` writes the records of a build as a
 * plain OCI image manifest, which every registry accepts, and `--cache-from`
 * reads one back.
 *
 * The manifest's layers are the steps' layer blobs, as stored (each once).
 * Its config is an ordinary image config (`rootfs.diff_ids` lists the
 * layers' diffIds, so tools can inspect it as an image) with one extra
 * member, `tsbuild.cache.v1`: `{"records": [{"key": "sha256:…", "layer": 0},
 * {"key": "sha256:…", "layer": null}]}`, each record a step key and the
 * index of its layer in the manifest (null: the step changed no file).
 *
 * An import reads only the manifest and the config; layer blobs are
 * downloaded when a build needs one (see BuildCache.ensureBlob), so a build
 * whose every step hits fetches just the layers of its result.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { digestOf, isDigest, type BlobStore } from '../image/blob-store.ts';
import { MediaType, type Descriptor, type Digest, type ImageConfig, type Index, type Layer, type Manifest, type Platform } from '../image/oci.ts';
import { exportOciLayout } from '../image/oci-layout.ts';
import { formatReference } from '../image/reference.ts';
import { downloadBlob } from '../registry/blob.ts';
import { pushImage } from '../registry/client.ts';
import { fetchManifest } from '../registry/manifest.ts';
import { RegistrySession } from '../registry/session.ts';
import { RegistryTransport } from '../registry/transport.ts';
import type { RemoteRecords } from './build-cache.ts';
import type { CacheSource, CacheTarget } from './cache-spec.ts';
import type { CacheRecord } from './cache-store.ts';

const FIELD = 'tsbuild.cache.v1';
const ANNOTATION = 'dev.tsbuild.cache';

interface CacheConfig extends ImageConfig {
  [FIELD]: { records: { key: Digest; layer: number | null }[] };
}

/** Where a cache target or source is, for messages. */
export function describeCache(c: CacheSource | CacheTarget): string {
  if (c.type === 'registry') return formatReference(c.ref);
  return 'src' in c ? c.src : c.dest;
}

/**
 * Writes `records` (whose layer blobs must all be in `store`) to `target`:
 * pushed to a registry, or as an OCI layout directory (replacing what was
 * there). Returns the cache manifest's descriptor.
 */
export async function exportCache(target: CacheTarget, records: readonly CacheRecord[], store: BlobStore, platform: Platform, session?: RegistrySession): Promise<Descriptor> {
  const layers: Layer[] = [];
  const index = new Map<Digest, number>();
  const entries = records.map((r) => {
    if (!r.layer) return { key: r.key, layer: null };
    const digest = r.layer.descriptor.digest;
    let i = index.get(digest);
    if (i === undefined) {
      i = layers.push(r.layer) - 1;
      index.set(digest, i);
    }
    return { key: r.key, layer: i };
  });
  const config: CacheConfig = {
    architecture: platform.architecture,
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    [FIELD]: { records: entries },
  };
  const configBlob = await store.putBytes(Buffer.from(JSON.stringify(config)));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: { mediaType: MediaType.config, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => l.descriptor),
    annotations: { [ANNOTATION]: 'v1' },
  };
  const manifestBlob = await store.putBytes(Buffer.from(JSON.stringify(manifest)));
  const descriptor: Descriptor = { mediaType: MediaType.manifest, digest: manifestBlob.digest, size: manifestBlob.size };
  if (target.type === 'registry') await pushImage(store, descriptor, target.ref, session ? { session } : {});
  else await exportOciLayout(store, descriptor, target.dest);
  return descriptor;
}

/**
 * Reads the cache manifest `source` names. Its layers are fetched later, one
 * by one, as the build needs them.
 */
export async function importCache(source: CacheSource, store: BlobStore, session?: RegistrySession): Promise<RemoteRecords> {
  if (source.type === 'registry') {
    const transport = new RegistryTransport(session ?? new RegistrySession(), source.ref);
    const { manifest } = await fetchManifest(transport);
    await downloadBlob(transport, store, manifest.config);
    const config = await store.readJson<CacheConfig>(manifest.config.digest);
    return remoteRecords(formatReference(source.ref), manifest, config, async (layer) => {
      await downloadBlob(transport, store, layer.descriptor);
    });
  }
  const layout = source.src;
  const blobPath = (d: Digest): string => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
  const readVerified = async (d: Descriptor): Promise<Buffer> => {
    if (!isDigest(d.digest)) throw new UserError(`cache ${layout}: invalid digest ${JSON.stringify(d.digest)}`);
    const bytes = await readFile(blobPath(d.digest)).catch(() => {
      throw new UserError(`cache ${layout}: blob ${d.digest} is missing`);
    });
    if (digestOf(bytes) !== d.digest) throw new UserError(`cache ${layout}: blob ${d.digest} is corrupt`);
    return bytes;
  };
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8').catch(() => {
    throw new UserError(`cache ${layout}: not an OCI layout (no index.json)`);
  })) as Index;
  const entry = index.manifests?.find((m) => m.annotations?.[ANNOTATION] !== undefined) ?? index.manifests?.[0];
  if (!entry) throw new UserError(`cache ${layout}: the layout holds no manifest`);
  const manifest = JSON.parse((await readVerified(entry)).toString('utf8')) as Manifest;
  const config = JSON.parse((await readVerified(manifest.config)).toString('utf8')) as CacheConfig;
  return remoteRecords(layout, manifest, config, async (layer) => {
    await store.putStream(createReadStream(blobPath(layer.descriptor.digest)), { digest: layer.descriptor.digest, size: layer.descriptor.size });
  });
}

function remoteRecords(source: string, manifest: Manifest, config: CacheConfig, fetch: (layer: Layer) => Promise<void>): RemoteRecords {
  const list = config[FIELD]?.records;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (!Array.isArray(list) || !Array.isArray(manifest.layers) || diffIds.length !== manifest.layers.length) {
    throw new UserError(`cache ${source}: not a tsbuild cache (no ${FIELD} records in its config)`);
  }
  const records = new Map<Digest, CacheRecord>();
  for (const r of list) {
    if (!isDigest(r.key)) continue;
    const descriptor = r.layer === null ? undefined : manifest.layers[r.layer];
    const diffId = r.layer === null ? undefined : diffIds[r.layer];
    if (r.layer !== null && (!descriptor || !diffId)) continue;
    records.set(r.key, { key: r.key, layer: descriptor && diffId ? { descriptor, diffId } : null });
  }
  const blobs = new Set(manifest.layers.map((l) => l.digest));
  return {
    source,
    lookup: (key) => records.get(key),
    hasBlob: (digest) => blobs.has(digest),
    fetch,
  };
}

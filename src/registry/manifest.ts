import { digestOf, isDigest } from '../image/blob-store.ts';
import { MediaType, type Descriptor, type Digest, type Index, type Manifest, type Platform } from '../image/oci.ts';
import type { Reference } from '../image/reference.ts';
import { discard, type HttpResponse } from './http.ts';
import { choosePlatform, DEFAULT_PLATFORM, formatPlatform } from './platform.ts';
import { RegistrySession, type RegistryOptions } from './session.ts';
import { RegistryTransport } from './transport.ts';

/** Everything a pull can use, most specific first: registries pick the first they hold. */
const ACCEPT = [MediaType.manifest, MediaType.dockerManifest, MediaType.index, MediaType.dockerManifestList] as const;

const INDEX_TYPES = new Set<string>([MediaType.index, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.manifest, MediaType.dockerManifest]);

/**
 * Manifests are small JSON documents; a cap keeps a misbehaving server from
 * making us buffer something huge (containerd uses the same 4 MiB limit).
 */
const MAX_MANIFEST_BYTES = 4 << 20;

/** Indexes inside indexes are legal but rare; more than this is a loop or abuse. */
const MAX_INDEX_DEPTH = 4;

/** A platform-specific image manifest exactly as the registry served it. */
export interface FetchedManifest {
  /** Digest, size and media type of `bytes` themselves. */
  descriptor: Descriptor;
  bytes: Buffer;
  manifest: Manifest;
}

export interface ResolveOptions extends RegistryOptions {
  /** Which entry to take from a multi-platform index; default linux/amd64. */
  platform?: Platform;
  signal?: AbortSignal;
}

/**
 * Fetches the image manifest `ref` names for one platform, descending through
 * an OCI index or Docker manifest list when the reference points at one.
 *
 * Every document fetched is checked against the digest that names it: the
 * reference's pinned digest, the index entry's digest, or else the
 * registry's `Docker-Content-Digest` header when it sends one. A mismatch is
 * a UserError, never silently accepted.
 */
export async function fetchManifest(
  transport: RegistryTransport,
  opts: ResolveOptions = {},
): Promise<FetchedManifest> {
  const ref = transport.ref;
  const want = opts.platform ?? DEFAULT_PLATFORM;
  let doc = await fetchDocument(transport, ref.digest ?? ref.tag ?? 'latest', ref.digest && { digest: ref.digest }, opts.signal);
  for (let depth = 0; doc.kind === 'index'; depth++) {
    if (depth >= MAX_INDEX_DEPTH) throw transport.fail(undefined, `indexes nested more than ${MAX_INDEX_DEPTH} deep`);
    const entries = Array.isArray(doc.json.manifests) ? doc.json.manifests : [];
    const chosen = choosePlatform(entries, want);
    if (!chosen) {
      const have = entries.flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : []));
      throw transport.fail(
        undefined,
        `no image for platform ${formatPlatform(want)} (the index has ${have.length ? have.join(', ') : 'no platform entries'})`,
      );
    }
    if (!isDigest(chosen.digest)) throw transport.fail(undefined, `index entry has an invalid digest ${JSON.stringify(chosen.digest)}`);
    doc = await fetchDocument(transport, chosen.digest, chosen, opts.signal);
  }
  return { descriptor: doc.descriptor, bytes: doc.bytes, manifest: doc.json };
}

/**
 * The descriptor of the platform-specific manifest `ref` currently names:
 * what a build records to pin a base image. Fetches (but stores nothing).
 */
export async function resolveManifest(ref: Reference, opts: ResolveOptions = {}): Promise<Descriptor> {
  return (await fetchManifest(new RegistryTransport(RegistrySession.of(opts), ref), opts)).descriptor;
}

/**
 * PUTs a manifest or index (its exact stored bytes) under a tag or its
 * digest. The registry must have every blob and child manifest it refers to
 * already. When the registry states the digest it stored, it must be ours.
 */
export async function putManifest(
  transport: RegistryTransport,
  tagOrDigest: string,
  descriptor: Descriptor,
  bytes: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  const what = `manifest ${tagOrDigest}`;
  const res = await transport.request(`manifests/${tagOrDigest}`, {
    method: 'PUT',
    what,
    headers: { 'content-type': descriptor.mediaType },
    body: () => bytes,
    ...(signal && { signal }),
  });
  await discard(res);
  const stored = res.headers.get('docker-content-digest');
  if (stored && stored !== descriptor.digest) {
    throw transport.fail(what, `the registry stored it as ${stored}, not ${descriptor.digest}`);
  }
}

type Document =
  | { kind: 'index'; descriptor: Descriptor; bytes: Buffer; json: Index }
  | { kind: 'manifest'; descriptor: Descriptor; bytes: Buffer; json: Manifest };

/** GETs one manifest or index by tag or digest and verifies it against `expected`. */
async function fetchDocument(
  transport: RegistryTransport,
  tagOrDigest: string,
  expected: { digest: Digest; size?: number } | undefined,
  signal: AbortSignal | undefined,
): Promise<Document> {
  const what = tagOrDigest === (transport.ref.digest ?? transport.ref.tag) ? undefined : `manifest ${tagOrDigest}`;
  const res = await transport.get(`manifests/${tagOrDigest}`, { accept: ACCEPT, what, ...(signal && { signal }) });
  const bytes = await readCapped(transport, res, what);

  const digest = digestOf(bytes);
  const header = res.headers.get('docker-content-digest');
  const claimed = expected?.digest ?? (header && isDigest(header) ? header : undefined);
  if (claimed && claimed !== digest) {
    throw transport.fail(what, `manifest digest mismatch: expected ${claimed}, got ${digest}`);
  }
  if (expected?.size !== undefined && expected.size !== bytes.length) {
    throw transport.fail(what, `manifest size mismatch: expected ${expected.size} bytes, got ${bytes.length}`);
  }

  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw transport.fail(what, 'manifest is not valid JSON');
  }
  if (typeof json !== 'object' || json === null) throw transport.fail(what, 'manifest is not a JSON object');
  const mediaType = mediaTypeOf(json, res.headers.get('content-type'));
  const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
  if (INDEX_TYPES.has(mediaType)) return { kind: 'index', descriptor, bytes, json: json as Index };
  if (MANIFEST_TYPES.has(mediaType)) {
    const m = json as Manifest;
    if (!m.config || !isDigest(m.config.digest) || !Array.isArray(m.layers) || !m.layers.every((l) => isDigest(l.digest))) {
      throw transport.fail(what, 'malformed image manifest (config or layers missing or with invalid digests)');
    }
    return { kind: 'manifest', descriptor, bytes, json: m };
  }
  throw transport.fail(what, `unsupported manifest type ${mediaType}`);
}

/**
 * The document's own `mediaType` field is authoritative; OCI makes it
 * optional, so fall back to Content-Type, then to the document's shape.
 */
function mediaTypeOf(json: object, contentType: string | null): string {
  const field = (json as { mediaType?: unknown }).mediaType;
  if (typeof field === 'string' && field) return field;
  const header = contentType?.split(';')[0]?.trim();
  if (header && (INDEX_TYPES.has(header) || MANIFEST_TYPES.has(header))) return header;
  if ('manifests' in json) return MediaType.index;
  if ('config' in json) return MediaType.manifest;
  return header || 'unknown';
}

async function readCapped(transport: RegistryTransport, res: HttpResponse, what: string | undefined): Promise<Buffer> {
  const tooBig = () => transport.fail(what, `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_MANIFEST_BYTES) {
    res.body.destroy();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > MAX_MANIFEST_BYTES) throw tooBig();
      chunks.push(chunk);
    }
  } catch (e) {
    throw transport.networkError(e, what);
  }
  return Buffer.concat(chunks);
}

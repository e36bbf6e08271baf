/**
 * OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/`), the format
 * `skopeo`, `umoci`, `crane` and `docker buildx --output type=oci` agree on,
 * as a directory or as a tar, optionally also readable by `docker load`.
 *
 * - `exportOciLayout(store, manifest, dest, { names, docker })` writes the
 *   image (manifest or index, and every blob it references) as a directory.
 *   The layout is built in a temp sibling and renamed into place, so a failed
 *   export leaves nothing behind; an existing layout (or empty dir) at `dest`
 *   is replaced, anything else there is refused. Blobs are hardlinked from
 *   the store when it is on the same file system, copied otherwise.
 * - `ociLayoutTar(store, manifest, { names, docker, mtime })` streams the same
 *   layout as a tar (BuildKit's default `type=oci` output).
 *
 * Each name (`app:1.0`, `docker.io/library/app:1.0`) gets an `index.json`
 * entry annotated with `org.opencontainers.image.ref.name` (its tag) and
 * `io.containerd.image.name` (the full name); with no name there is one
 * unannotated entry. `docker: true` adds the `manifest.json` of a
 * docker-archive whose paths point into `blobs/`, as Docker 25+ and
 * BuildKit's `type=docker` write it: one archive that both `docker load` and
 * OCI tools read. It needs a single-platform image.
 *
 * - `importOciLayout(dir, store, tag?)` copies the image named `tag` (or the
 *   only one) into the store, verifying every blob's digest and size, and
 *   returns its descriptor (without the layout-only annotations).
 */
import { createReadStream } from 'node:fs';
import { copyFile, link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { archive, type ArchiveFile } from './archive.ts';
import { isDigest, type BlobStore } from './blob-store.ts';
import { MediaType, type Descriptor, type Index, type Manifest } from './oci.ts';
import { familiarName, formatReference, parseReference, type Reference } from './reference.ts';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

export interface ExportOciLayoutOptions {
  /** Image name, e.g. `app:1.0` or `docker.io/library/app:1.0` (kept for callers that have one). */
  name?: string;
  /** Image names; each gets its own `index.json` entry. */
  names?: readonly string[];
  /** Add docker-archive's `manifest.json` (see the module comment). */
  docker?: boolean;
}

/** The small files of a layout, and the blobs that go under `blobs/sha256/`. */
interface LayoutContents {
  files: { path: string; bytes: Buffer }[];
  blobs: Descriptor[];
}

async function layoutContents(store: BlobStore, manifest: Descriptor, opts: ExportOciLayoutOptions): Promise<LayoutContents> {
  const given = [...(opts.name !== undefined ? [opts.name] : []), ...(opts.names ?? [])].map(parseReference);
  const names = [...new Map(given.map((ref) => [formatReference(ref), ref])).values()];
  const readJson = async (d: Descriptor): Promise<unknown> => {
    if (!(await store.has(d.digest))) throw new UserError(`cannot export: blob ${d.digest} is missing from the store`);
    return store.readJson(d.digest);
  };
  const blobs = await reachable(manifest, readJson);
  for (const d of blobs) await checkBlob(store, d);
  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.index,
    manifests: names.length === 0 ? [manifest] : names.map((ref) => annotated(manifest, ref)),
  };
  const files = [
    { path: 'oci-layout', bytes: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { path: 'index.json', bytes: Buffer.from(JSON.stringify(index)) },
  ];
  if (opts.docker) {
    if (!isManifest(manifest)) {
      throw new UserError('the docker exporter cannot export a multi-platform image (an index); use type=oci');
    }
    const m = (await readJson(manifest)) as Manifest;
    const blobPath = (d: Descriptor): string => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
    const repoTags = names.filter((ref) => ref.tag !== undefined).map(familiarName);
    const dockerManifest = [{ Config: blobPath(m.config), RepoTags: repoTags, Layers: m.layers.map(blobPath) }];
    files.push({ path: 'manifest.json', bytes: Buffer.from(JSON.stringify(dockerManifest)) });
  }
  return { files, blobs: blobs.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)) };
}

export async function exportOciLayout(
  store: BlobStore,
  manifest: Descriptor,
  dest: string,
  opts: ExportOciLayoutOptions = {},
): Promise<void> {
  const target = resolve(dest);
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !(await isReplaceable(target))) {
    throw new UserError(`${dest} exists and is not an OCI layout; refusing to replace it`);
  }
  const contents = await layoutContents(store, manifest, opts);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, `.${basename(target)}.tmp-`));
  try {
    const blobs = join(tmp, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    for (const d of contents.blobs) await placeBlob(store, d, blobs);
    for (const f of contents.files) await writeFile(join(tmp, f.path), f.bytes);
    if (existing) {
      const old = `${tmp}.old`;
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The layout as a tar stream. Every entry has mode 0644/0755, owner 0:0 and
 * `mtime` (seconds), so the tar depends only on the image and the names.
 * Blobs are checked against their descriptors before the first byte.
 */
export async function ociLayoutTar(
  store: BlobStore,
  manifest: Descriptor,
  opts: ExportOciLayoutOptions & { mtime?: number } = {},
): Promise<AsyncIterable<Buffer>> {
  const contents = await layoutContents(store, manifest, opts);
  const entries: ArchiveFile[] = [
    ...contents.files.map((f): ArchiveFile => ({ kind: 'bytes', ...f })),
    { kind: 'directory', path: 'blobs/' },
    { kind: 'directory', path: 'blobs/sha256/' },
    ...contents.blobs.map(
      (d): ArchiveFile => ({ kind: 'file', path: `blobs/sha256/${d.digest.slice('sha256:'.length)}`, source: store.path(d.digest), size: d.size }),
    ),
  ];
  return archive(entries, { mtime: opts.mtime ?? 0 });
}

async function checkBlob(store: BlobStore, d: Descriptor): Promise<void> {
  const st = await lstat(store.path(d.digest)).catch(() => undefined);
  if (!st) throw new UserError(`cannot export: blob ${d.digest} is missing from the store`);
  if (st.size !== d.size) throw new UserError(`cannot export: blob ${d.digest} is ${st.size} bytes, its descriptor says ${d.size}`);
}

/** Only an earlier export (or an empty dir) may be overwritten. */
async function isReplaceable(dir: string): Promise<boolean> {
  try {
    const names = await readdir(dir);
    return names.length === 0 || names.includes('oci-layout');
  } catch {
    return false;
  }
}

function annotated(manifest: Descriptor, ref: Reference): Descriptor {
  return {
    ...manifest,
    annotations: {
      ...manifest.annotations,
      [CONTAINERD_NAME]: formatReference(ref),
      ...(ref.tag !== undefined && { [REF_NAME]: ref.tag }),
    },
  };
}

function isIndex(d: Descriptor): boolean {
  return d.mediaType === MediaType.index || d.mediaType === MediaType.dockerManifestList;
}

function isManifest(d: Descriptor): boolean {
  return d.mediaType === MediaType.manifest || d.mediaType === MediaType.dockerManifest;
}

/** `top` and everything it references, parents before children, each digest once. */
async function reachable(top: Descriptor, readJson: (d: Descriptor) => Promise<unknown>): Promise<Descriptor[]> {
  const seen = new Map<string, Descriptor>();
  const visit = async (d: Descriptor): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.set(d.digest, d);
    if (isIndex(d)) {
      for (const child of (await readJson(d) as Index).manifests ?? []) await visit(child);
    } else if (isManifest(d)) {
      const m = (await readJson(d)) as Manifest;
      await visit(m.config);
      for (const layer of m.layers ?? []) await visit(layer);
    }
  };
  await visit(top);
  return [...seen.values()];
}

async function placeBlob(store: BlobStore, d: Descriptor, blobs: string): Promise<void> {
  const src = store.path(d.digest);
  const dst = join(blobs, d.digest.slice('sha256:'.length));
  try {
    await link(src, dst);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e;
    await copyFile(src, dst);
  }
}

export async function importOciLayout(dir: string, store: BlobStore, tag?: string): Promise<Descriptor> {
  const layout = await readJsonFile<{ imageLayoutVersion?: string }>(join(dir, 'oci-layout'), dir);
  if (layout.imageLayoutVersion !== '1.0.0') {
    throw new UserError(`${dir}: unsupported OCI layout version ${JSON.stringify(layout.imageLayoutVersion)}`);
  }
  const index = await readJsonFile<Index>(join(dir, 'index.json'), dir);
  const picked = pick(index.manifests ?? [], dir, tag);
  const blobPath = (d: Descriptor): string => {
    if (!isDigest(d.digest)) throw new UserError(`${dir}: invalid digest ${JSON.stringify(d.digest)}`);
    return join(dir, 'blobs', 'sha256', d.digest.slice('sha256:'.length));
  };
  const copyIn = async (d: Descriptor): Promise<void> => {
    if (await store.has(d.digest)) return;
    const path = blobPath(d);
    if (!(await lstat(path).catch(() => undefined))) throw new UserError(`${dir}: blob ${d.digest} is missing`);
    await store.putStream(createReadStream(path), { digest: d.digest, size: d.size });
  };
  // Manifests and indexes are stored as they are reached, since reading them reveals the rest.
  const all = await reachable(picked, async (d) => {
    await copyIn(d);
    return store.readJson(d.digest);
  });
  for (const d of all) await copyIn(d);
  const { annotations: _layoutOnly, ...descriptor } = picked;
  return descriptor;
}

function pick(manifests: Descriptor[], dir: string, tag: string | undefined): Descriptor {
  if (tag === undefined) {
    const only = manifests[0];
    if (manifests.length !== 1 || !only) {
      throw new UserError(`${dir} holds ${manifests.length} images; name the one to import with a tag`);
    }
    return only;
  }
  const found = manifests.find((m) => m.annotations?.[REF_NAME] === tag || m.annotations?.[CONTAINERD_NAME] === tag);
  if (!found) {
    const tags = manifests.map((m) => m.annotations?.[REF_NAME]).filter((t) => t !== undefined);
    throw new UserError(`${dir} has no image tagged ${JSON.stringify(tag)}${tags.length ? ` (it has: ${tags.join(', ')})` : ''}`);
  }
  return found;
}

async function readJsonFile<T>(path: string, dir: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${dir} is not an OCI image layout (no ${basename(path)})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UserError(`${path} is not valid JSON`);
  }
}

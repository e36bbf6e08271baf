import type { BlobStore } from '../image/blob-store.ts';
import type { ImageStore } from '../image/image-store.ts';
import { MediaType, type Descriptor, type Digest, type Index, type Manifest } from '../image/oci.ts';
import { parseReference } from '../image/reference.ts';

/** A repository on a registry: `{ registry: '127.0.0.1:5000', repository: 'team/app' }`. */
export interface Repository {
  registry: string;
  repository: string;
}

/** Blob digest → repositories believed to hold it. */
export type BlobLocations = ReadonlyMap<Digest, readonly Repository[]>;

/**
 * Where the blobs in the local store probably also live remotely: every
 * image name in `images` was pulled from or pushed to its repository, so the
 * blobs of its manifest are (or were) there. A push uses this to mount a
 * base image's layers from the repository it was pulled from instead of
 * uploading them again. Only a hint: a mount the registry refuses falls back
 * to an upload. Names whose manifest is not in `store` are passed over.
 */
export async function blobLocations(store: BlobStore, images: ImageStore): Promise<BlobLocations> {
  const out = new Map<Digest, Repository[]>();
  for (const { name, manifest } of await images.list()) {
    let repo: Repository;
    try {
      const ref = parseReference(name);
      repo = { registry: ref.registry, repository: ref.repository };
    } catch {
      continue;
    }
    for (const digest of await blobsOf(store, manifest, 0)) {
      const list = out.get(digest) ?? [];
      if (!list.some((r) => r.registry === repo.registry && r.repository === repo.repository)) list.push(repo);
      out.set(digest, list);
    }
  }
  return out;
}

async function blobsOf(store: BlobStore, descriptor: Descriptor, depth: number): Promise<Digest[]> {
  if (depth > 2 || !(await store.has(descriptor.digest))) return [];
  let json: Partial<Manifest & Index>;
  try {
    json = await store.readJson<Partial<Manifest & Index>>(descriptor.digest);
  } catch {
    return [];
  }
  if (descriptor.mediaType === MediaType.index || descriptor.mediaType === MediaType.dockerManifestList) {
    const nested = await Promise.all((json.manifests ?? []).map((d) => blobsOf(store, d, depth + 1)));
    return nested.flat();
  }
  return [json.config, ...(json.layers ?? [])].flatMap((d) => (d ? [d.digest] : []));
}

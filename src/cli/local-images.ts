/**
 * The local image store as the image commands (`images`, `tag`, `rmi`,
 * `inspect`, `history`) see it: the stores under a root, and `findImage`,
 * which accepts what `docker` accepts for an image: a name (`app`,
 * `app:1.0`, `host:5000/team/app:1.0`), a manifest digest (`sha256:…`), or an
 * unambiguous prefix of an image ID (config digest) or manifest digest.
 */
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { BlobStore } from '../image/blob-store.ts';
import { readImage, type StoredImage } from '../image/image-reader.ts';
import { ImageStore } from '../image/image-store.ts';
import { MediaType, type Descriptor, type Digest } from '../image/oci.ts';
import { formatReference, parseReference } from '../image/reference.ts';

/** The blob store and the name store under one root. */
export interface LocalStores {
  store: BlobStore;
  images: ImageStore;
}

/** The stores under `$TSBUILD_ROOT` (`blobs/`, `images/`). */
export function localStores(root: string): LocalStores {
  return { store: new BlobStore(join(root, 'blobs')), images: new ImageStore(join(root, 'images')) };
}

/** A named image with its documents. */
export interface ListedImage extends StoredImage {
  name: string;
  descriptor: Descriptor;
}

/** Every name in the store with its image, sorted by name. */
export async function listImages(stores: LocalStores): Promise<ListedImage[]> {
  const out: ListedImage[] = [];
  for (const { name, manifest } of await stores.images.list()) {
    out.push({ name, descriptor: manifest, ...(await readImage(stores.store, manifest)) });
  }
  return out;
}

/** The image `input` names; the names pointing to it (none for a bare digest not tagged). */
export async function findImage(stores: LocalStores, input: string): Promise<{ descriptor: Descriptor; names: string[] }> {
  const hex = /^(?:sha256:)?([0-9a-f]{4,64})$/.exec(input)?.[1];
  if (hex !== undefined) {
    const all = await listImages(stores);
    const matches = all.filter((i) => i.descriptor.digest.slice(7).startsWith(hex) || i.manifest.config.digest.slice(7).startsWith(hex));
    const digests = new Set(matches.map((m) => m.descriptor.digest));
    if (digests.size > 1) throw new UserError(`${input} is ambiguous: it matches ${digests.size} images`);
    const first = matches[0];
    if (first) return { descriptor: first.descriptor, names: matches.map((m) => m.name) };
    const digest: Digest = `sha256:${hex}`;
    if (input.startsWith('sha256:') && hex.length === 64 && (await stores.store.has(digest))) {
      return { descriptor: { mediaType: MediaType.manifest, digest, size: await stores.store.size(digest) }, names: [] };
    }
  }
  const ref = parseReference(input);
  const descriptor = await stores.images.resolve(ref);
  if (!descriptor) throw new UserError(`no such image: ${input}`);
  return { descriptor, names: [formatReference(ref)] };
}

import type { BlobStore } from '../image/blob-store.ts';
import type { ImageStore } from '../image/image-store.ts';
import { MediaType, type Descriptor, type Digest, type ImageConfig, type Index, type Manifest } from '../image/oci.ts';

/** What the named images hold on to: the blobs they reference and the diffIds of their layers. */
export interface ImageRoots {
  blobs: Set<Digest>;
  diffIds: Set<Digest>;
  /** Names whose manifest, config or a layer is missing or corrupt, with what is wrong. */
  broken: { name: string; problem: string }[];
}

const INDEX_TYPES = new Set<string>([MediaType.index, MediaType.dockerManifestList]);

/** Walks every name in the image store down to its blobs (through indexes). */
export async function imageRoots(images: ImageStore, blobs: BlobStore): Promise<ImageRoots> {
  const out: ImageRoots = { blobs: new Set(), diffIds: new Set(), broken: [] };
  for (const { name, manifest } of await images.list()) {
    const problem = await visit(manifest, blobs, out, 0);
    if (problem) out.broken.push({ name, problem });
  }
  return out;
}

async function visit(d: Descriptor, blobs: BlobStore, out: ImageRoots, depth: number): Promise<string | undefined> {
  out.blobs.add(d.digest);
  if (depth > 4) return 'indexes nested too deep';
  let doc: Partial<Manifest & Index>;
  try {
    doc = await blobs.readJson<Partial<Manifest & Index>>(d.digest);
  } catch {
    return `manifest ${d.digest} is missing or corrupt`;
  }
  if (INDEX_TYPES.has(d.mediaType) || Array.isArray(doc.manifests)) {
    let problem: string | undefined;
    // an index may list platforms that were never pulled: only the ones present count
    for (const child of doc.manifests ?? []) if (await blobs.has(child.digest)) problem ??= await visit(child, blobs, out, depth + 1);
    return problem;
  }
  if (!doc.config || !Array.isArray(doc.layers)) return `manifest ${d.digest} has no config or layers`;
  out.blobs.add(doc.config.digest);
  for (const layer of doc.layers) out.blobs.add(layer.digest);
  try {
    const config = await blobs.readJson<ImageConfig>(doc.config.digest);
    for (const id of config.rootfs?.diff_ids ?? []) out.diffIds.add(id);
  } catch {
    return `config ${doc.config.digest} is missing or corrupt`;
  }
  for (const layer of doc.layers) if (!(await blobs.has(layer.digest))) return `layer ${layer.digest} is missing`;
  return undefined;
}

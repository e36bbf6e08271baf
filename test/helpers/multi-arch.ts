/**
 * A multi-platform variant of the busybox base, for tests of index handling:
 * an OCI image index listing a linux/arm64/v8 image first and the original
 * linux/amd64 image second. Both share the busybox layer; only their configs
 * (and so their manifests) differ, so a pull that took the wrong entry shows
 * up as the wrong manifest digest. (The arm64 image would not run: it is
 * amd64 busybox relabelled. Tests only compare digests.)
 *
 *   const multi = await makeMultiArchLayout(await makeBusyboxLayout(tmp), join(tmp, 'multi'));
 *   await pushLayout(reg.host, multi.layoutDir, multi.tag, 'busybox:multi');
 */
import { createHash } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaType, type Descriptor, type Digest, type ImageConfig, type Index, type Manifest } from '../../src/image/oci.ts';
import { BASE_TAG } from './base-image.ts';

export interface MultiArchLayout {
  layoutDir: string;
  /** The tag in the layout naming the index. */
  tag: string;
  index: Descriptor;
  /** The index entries, with their platforms. */
  amd64: Descriptor;
  arm64: Descriptor;
}

/**
 * Copies the busybox layout at `baseLayout` to `dir` and adds the arm64
 * image and an index over both, tagged `tag` (default `multi`).
 */
export async function makeMultiArchLayout(baseLayout: string, dir: string, tag = 'multi'): Promise<MultiArchLayout> {
  await rm(dir, { recursive: true, force: true });
  await cp(baseLayout, dir, { recursive: true });
  const blob = (d: Digest) => join(dir, 'blobs', 'sha256', d.slice('sha256:'.length));
  const put = async (mediaType: string, value: unknown): Promise<Descriptor> => {
    const bytes = Buffer.from(JSON.stringify(value));
    const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(blob(digest), bytes);
    return { mediaType, digest, size: bytes.length };
  };

  const layoutIndex = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index;
  const base = layoutIndex.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === BASE_TAG);
  if (!base) throw new Error(`${baseLayout} has no image tagged ${BASE_TAG}`);
  const amdManifest = JSON.parse(await readFile(blob(base.digest), 'utf8')) as Manifest;
  const amdConfig = JSON.parse(await readFile(blob(amdManifest.config.digest), 'utf8')) as ImageConfig;

  const armConfig = await put(MediaType.config, { ...amdConfig, architecture: 'arm64', variant: 'v8' });
  const armManifest = await put(MediaType.manifest, { ...amdManifest, config: armConfig });

  const arm64: Descriptor = { ...armManifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
  const amd64: Descriptor = { mediaType: base.mediaType, digest: base.digest, size: base.size, platform: { os: 'linux', architecture: 'amd64' } };
  const index = await put(MediaType.index, { schemaVersion: 2, mediaType: MediaType.index, manifests: [arm64, amd64] });

  layoutIndex.manifests.push({ ...index, annotations: { 'org.opencontainers.image.ref.name': tag } });
  await writeFile(join(dir, 'index.json'), JSON.stringify(layoutIndex));
  return { layoutDir: dir, tag, index, amd64, arm64 };
}

/**
 * `--build-context NAME=SOURCE`: a name that `FROM NAME` and `COPY
 * --from=NAME` resolve to something other than the image of that name, as
 * BuildKit's named contexts do. Sources:
 *
 * - `docker-image://REF`: the image REF (local store, then its registry);
 * - `oci-layout://DIR[:TAG]`: the image in an OCI layout directory (the one
 *   tagged TAG, or its only image; a multi-platform index gives the build
 *   platform's image), copied into the store.
 *
 * A local directory as a named context needs planner support and is
 * refused with a clear error for now.
 */
import type { SourceLocation } from '../errors.ts';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import { readImage } from '../image/image-reader.ts';
import { MediaType, type Descriptor, type Index, type Platform } from '../image/oci.ts';
import { importOciLayout } from '../image/oci-layout.ts';
import { formatReference, parseReference } from '../image/reference.ts';
import type { ResolvedImage } from '../planner/plan.ts';
import { choosePlatform, formatPlatform } from '../registry/platform.ts';

export type NamedContext = { kind: 'image'; ref: string } | { kind: 'oci-layout'; dir: string; tag?: string } | { kind: 'dir'; dir: string };

export type ImageResolver = (name: string, where: SourceLocation) => Promise<ResolvedImage>;

/** `resolve`, except for the names in `contexts`. Rejects directory contexts at once (see above). */
export function withNamedContexts(resolve: ImageResolver, contexts: ReadonlyMap<string, NamedContext>, store: BlobStore, platform: Platform): ImageResolver {
  if (contexts.size === 0) return resolve;
  return async (name, where) => {
    const c = lookup(contexts, name);
    if (c === undefined) return resolve(name, where);
    if (c.kind === 'image') return { ...(await resolve(c.ref, where)), name };
    if (c.kind === 'oci-layout') return fromLayout(c.dir, c.tag, name, store, platform, where);
    throw dirUnsupported(name, c.dir);
  };
}

function dirUnsupported(name: string, dir: string): UserError {
  return new UserError(`FROM ${name}: --build-context ${name}=${dir} is a directory, which COPY --from and RUN --mount=from can read but FROM cannot`);
}

/** The context named exactly `name`, or one whose name is the same image reference (`app` and `docker.io/library/app:latest`). */
function lookup(contexts: ReadonlyMap<string, NamedContext>, name: string): NamedContext | undefined {
  const exact = contexts.get(name);
  if (exact) return exact;
  const canonical = canonicalName(name);
  if (canonical === undefined) return undefined;
  for (const [key, c] of contexts) if (canonicalName(key) === canonical) return c;
  return undefined;
}

function canonicalName(name: string): string | undefined {
  try {
    return formatReference(parseReference(name));
  } catch {
    return undefined;
  }
}

async function fromLayout(dir: string, tag: string | undefined, name: string, store: BlobStore, platform: Platform, where: SourceLocation): Promise<ResolvedImage> {
  try {
    let manifest: Descriptor = await importOciLayout(dir, store, tag);
    if (manifest.mediaType === MediaType.index || manifest.mediaType === MediaType.dockerManifestList) {
      const index = await store.readJson<Index>(manifest.digest);
      const chosen = choosePlatform(index.manifests ?? [], platform);
      if (!chosen) throw new UserError(`${dir} has no image for ${formatPlatform(platform)}`);
      manifest = chosen;
    }
    const { config, layers } = await readImage(store, manifest);
    const { platform: _indexOnly, annotations: _layoutOnly, ...descriptor } = manifest;
    return { name, manifest: descriptor, config, layers };
  } catch (e) {
    if (e instanceof UserError && !e.location) throw new UserError(`build context ${name}: ${e.message}`, where);
    throw e;
  }
}

import type { SourceLocation } from '../errors.ts';
import { UserError } from '../errors.ts';
import type { BlobStore } from '../image/blob-store.ts';
import type { ImageStore } from '../image/image-store.ts';
import type { ImageConfig, Layer, Manifest, Platform } from '../image/oci.ts';
import { parseReference } from '../image/reference.ts';
import type { ResolvedImage } from '../planner/plan.ts';
import type { ProgressSink } from '../progress/events.ts';
import { pullEvents } from '../progress/registry-events.ts';
import { pullImage } from '../registry/client.ts';

/**
 * Base-image lookup for the planner: the local image store first (names given
 * with `-t`, or pulled before), then the image's registry. A pulled image is
 * stored under its name, as `docker pull` does, so the next build needs no
 * network. With `pull` (`--pull`) the registry is always asked.
 */
export function imageResolver(
  store: BlobStore,
  images: ImageStore,
  platform: Platform,
  progress: ProgressSink,
  opts: { pull?: boolean } = {},
): (name: string, where: SourceLocation) => Promise<ResolvedImage> {
  return async (name, where) => {
    try {
      const ref = parseReference(name);
      const local = opts.pull ? undefined : await images.resolve(ref);
      if (local) {
        const manifest = await store.readJson<Manifest>(local.digest);
        const config = await store.readJson<ImageConfig>(manifest.config.digest);
        const layers: Layer[] = manifest.layers.map((descriptor, i) => ({ descriptor, diffId: config.rootfs.diff_ids[i] ?? descriptor.digest }));
        return { name, manifest: local, config, layers };
      }
      progress({ type: 'info', message: `pulling ${name}` });
      const pulled = await pullImage(ref, store, { platform, onProgress: pullEvents(progress, name) });
      await images.tag(ref, pulled.manifest);
      return { name, ...pulled };
    } catch (e) {
      if (e instanceof UserError && !e.location) throw new UserError(e.message, where);
      throw e;
    }
  };
}

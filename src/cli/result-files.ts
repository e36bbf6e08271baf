/**
 * `--iidfile` and `--metadata-file`: the build result written where scripts
 * pick it up, as docker buildx writes them. Their paths are checked before
 * the build starts, so a typo does not cost a whole build.
 */
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { BuildResult } from '../build/build.ts';
import { UserError } from '../errors.ts';

/** Throws when `path` cannot be written: its directory is missing, or it is a directory itself. */
export function checkResultPath(flag: string, path: string): void {
  const target = resolve(path);
  const isDir = (p: string): boolean | undefined => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return undefined;
    }
  };
  if (path === '') throw new UserError(`invalid ${flag} "": give a file path`);
  if (isDir(target)) throw new UserError(`invalid ${flag} ${JSON.stringify(path)}: it is a directory`);
  if (isDir(dirname(target)) !== true) throw new UserError(`invalid ${flag} ${JSON.stringify(path)}: the directory ${dirname(target)} does not exist`);
}

/** The image ID (config digest), as `docker build --iidfile` writes it: no line break. */
export async function writeIidFile(path: string, result: BuildResult): Promise<void> {
  await writeFile(path, result.config.digest);
}

/**
 * buildx's metadata file:
 *
 * ```json
 * {
 *   "containerimage.config.digest": "sha256:…",
 *   "containerimage.descriptor": { "mediaType": "…", "digest": "sha256:…", "size": 1234 },
 *   "containerimage.digest": "sha256:…",
 *   "image.name": "example.com/app:1,example.com/app:latest"
 * }
 * ```
 *
 * `image.name` is absent when the image has no name.
 */
export async function writeMetadataFile(path: string, result: BuildResult): Promise<void> {
  const metadata = {
    'containerimage.config.digest': result.config.digest,
    'containerimage.descriptor': { mediaType: result.manifest.mediaType, digest: result.manifest.digest, size: result.manifest.size },
    'containerimage.digest': result.manifest.digest,
    ...(result.names.length > 0 && { 'image.name': result.names.join(',') }),
  };
  await writeFile(path, `${JSON.stringify(metadata, null, 2)}\n`);
}

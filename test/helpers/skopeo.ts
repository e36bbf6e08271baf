/**
 * Thin wrappers around the `skopeo` CLI, the independent implementation the
 * tests check tsbuild against: it pushes fixtures into test registries and
 * reads back what a registry really serves.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';

/** Runs `skopeo ARGS…`; resolves to stdout, rejects with the command line and stderr. */
export function skopeo(args: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('skopeo', args, { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`skopeo ${args.join(' ')} failed: ${stderr.toString().trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export interface PushOptions {
  /**
   * Manifest format the registry gets: `oci` (default) keeps OCI media types,
   * `v2s2` converts to Docker schema 2 (what Docker Hub images mostly are).
   */
  format?: 'oci' | 'v2s2';
}

/**
 * Copies the image tagged `tag` in an OCI layout to `host/name` (e.g.
 * `busybox:1.35`) over plain http. An index is copied whole (`--all`), so
 * multi-platform layouts arrive as a real index.
 */
export async function pushLayout(
  host: string,
  layoutDir: string,
  tag: string,
  name: string,
  opts: PushOptions = {},
): Promise<void> {
  await skopeo([
    'copy',
    '--quiet',
    '--all',
    '--dest-tls-verify=false',
    ...(opts.format === 'v2s2' ? ['--format', 'v2s2'] : []),
    `oci:${layoutDir}:${tag}`,
    `docker://${host}/${name}`,
  ]);
}

/**
 * The sha256 of the exact manifest bytes the registry serves for
 * `host/name` (a tag or `@digest`): what a correct client must report as the
 * image's digest.
 */
export async function servedManifestDigest(host: string, name: string): Promise<`sha256:${string}`> {
  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/${name}`]);
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/**
 * The busybox base image tests build on: Debian's busybox-static packed as a
 * one-layer linux/amd64 OCI image (tag `1.35`) by
 * `fixtures/base/publish-base.sh`. Its bytes are fully pinned, so its
 * manifest digest is the same on every machine with the same busybox.
 *
 *   const layout = await makeBusyboxLayout(tmp);     // tmp/oci
 *   await pushBase(reg.host, layout);               // reg.host/busybox:1.35
 *   await pushBase(reg.host, layout, 'base:v1');     // any other name
 */
import { resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pushLayout, type PushOptions } from './skopeo.ts';

/** The tag the layout stores the image under (busybox's version in Debian bookworm). */
export const BASE_TAG = '1.35';

const PUBLISH_SCRIPT = fileURLToPath(new URL('../../fixtures/base/publish-base.sh', import.meta.url));

/** Per process: each directory is built once, however many tests ask. */
const built = new Map<string, Promise<string>>();

/**
 * Builds the busybox OCI layout under `dir` (in `dir/oci`, using `dir` for
 * scratch) and resolves to the layout directory. Calls with the same `dir`
 * share one build, so a test file can call this from every test with its
 * shared temp dir. Needs `busybox-static`, GNU tar and gzip.
 */
export function makeBusyboxLayout(dir: string): Promise<string> {
  const key = resolve(dir);
  let layout = built.get(key);
  if (!layout) {
    layout = runPublish(key);
    built.set(key, layout);
    // a failed build is not cached, so a later call can retry
    layout.catch(() => built.delete(key));
  }
  return layout;
}

function runPublish(dir: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile('bash', [PUBLISH_SCRIPT, dir], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${PUBLISH_SCRIPT} ${dir} failed: ${stderr.trim() || err.message}`));
      else done(stdout.trim().split('\n').pop() ?? resolve(dir, 'oci'));
    });
  });
}

/**
 * Pushes the base from a layout made by makeBusyboxLayout to the registry at
 * `host` (e.g. a startRegistry() host) as `name`, by default `busybox:1.35`.
 */
export async function pushBase(host: string, layoutDir: string, name = `busybox:${BASE_TAG}`, opts: PushOptions = {}): Promise<void> {
  await pushLayout(host, layoutDir, BASE_TAG, name, opts);
}

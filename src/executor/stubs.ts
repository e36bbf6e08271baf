import { lstat, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { posix } from 'node:path';

/**
 * The runtime creates an empty file or dir for each mount point that the
 * rootfs lacks (`/etc/hosts`, `/proc`...). Those stubs belong to the
 * container, not the image, so they are recorded before the run and removed
 * after it when they are still empty — which keeps them out of the layer.
 */
export async function recordMissing(rootfs: string, paths: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of paths) {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const sub = `/${parts.slice(0, i).join('/')}`;
      if (missing.includes(sub)) continue;
      if (!(await lstat(posix.join(rootfs, sub)).then(() => true, () => false))) missing.push(sub);
    }
  }
  return missing;
}

/** Removes the stubs in `missing` that are still empty, deepest first. */
export async function removeStubs(rootfs: string, missing: readonly string[]): Promise<void> {
  for (const p of [...missing].sort((a, b) => b.length - a.length)) {
    const host = posix.join(rootfs, p);
    const st = await lstat(host).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory() && (await readdir(host)).length === 0) await rmdir(host);
    else if (st.isFile() && (await stat(host)).size === 0) await unlink(host);
  }
}

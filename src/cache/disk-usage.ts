import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes `path` occupies on disk (allocated blocks, like `du -s`), the tree
 * below it included; a file with several links counts once per `seen` set,
 * so one set shared across calls counts shared files once. 0 when absent.
 */
export async function diskUsage(path: string, seen: Set<string> = new Set()): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  let total = 0;
  const id = `${st.dev}:${st.ino}`;
  if (st.nlink <= 1 || st.isDirectory() || !seen.has(id)) {
    seen.add(id);
    total += st.blocks * 512;
  }
  if (st.isDirectory()) {
    for (const name of await readdir(path).catch(() => [])) total += await diskUsage(join(path, name), seen);
  }
  return total;
}

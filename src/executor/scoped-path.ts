import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';

const MAX_LINKS = 255;

/**
 * Resolves `path` inside `root` the way a process chrooted at `root` would:
 * symlinks (absolute or relative) are followed but can never lead above
 * `root`, since `..` at the root stays at the root. Components that do not
 * exist yet are kept as they are. `followFinal` decides whether a symlink in
 * the last component is followed too.
 *
 * Returns the host path. This is what keeps a `COPY x /etc/link/` from
 * writing through a link planted in the image to a host path.
 */
export async function resolveScoped(root: string, path: string, followFinal = true): Promise<string> {
  const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, part);
    const isLast = pending.length === 0;
    let target: string | undefined;
    try {
      if ((!isLast || followFinal) && (await lstat(host)).isSymbolicLink()) target = await readlink(host);
    } catch {
      target = undefined;
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`too many levels of symbolic links resolving ${path}`);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...done);
}

import { mustRun } from './run-command.ts';

/**
 * Mounts an overlayfs at `target`. `lowers` are listed topmost first, as the
 * kernel expects. Without `upper` the mount is read-only; overlayfs then needs
 * at least two lower dirs, which callers guarantee by ending the list with an
 * empty dir.
 *
 * `index=off` and `redirect_dir=off`/`metacopy=off` keep the upper dir a plain
 * diff that the layer writer can read without decoding overlay redirects.
 */
export async function mountOverlay(target: string, lowers: readonly string[], upper?: { upper: string; work: string }): Promise<void> {
  const opts = [`lowerdir=${lowers.join(':')}`];
  if (upper) opts.push(`upperdir=${upper.upper}`, `workdir=${upper.work}`);
  opts.push('index=off', 'redirect_dir=off', 'metacopy=off');
  await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', opts.join(','), target]);
}

/** Unmounts, lazily if the mount is still busy, so cleanup never hangs a build. */
export async function unmount(target: string): Promise<void> {
  try {
    await mustRun('umount', [target]);
  } catch {
    await mustRun('umount', ['-l', target]);
  }
}

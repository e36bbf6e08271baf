import { mustRun, onPath } from './run-command.ts';

/**
 * Mounts an overlayfs at `target`. `lowers` are listed topmost first, as the
 * kernel expects, and may be relative to `cwd`: the mount options must fit in
 * one page, so callers pass short names to fit long layer chains. Without
 * `upper` the mount is read-only; overlayfs then needs at least two lower
 * dirs, which callers guarantee by ending the list with an empty dir.
 *
 * `index=off` and `redirect_dir=off`/`metacopy=off` keep the upper dir a plain
 * diff that the layer writer can read without decoding overlay redirects.
 */
export async function mountOverlay(
  target: string,
  lowers: readonly string[],
  opts: { upper?: { upper: string; work: string }; cwd?: string } = {},
): Promise<void> {
  const options = [`lowerdir=${lowers.join(':')}`];
  if (opts.upper) options.push(`upperdir=${opts.upper.upper}`, `workdir=${opts.upper.work}`);
  options.push('index=off', 'redirect_dir=off', 'metacopy=off');
  const mount = (extra: string[]): Promise<string> =>
    mountTool('mount', ['-t', 'overlay', 'overlay', '-o', [...options, ...extra].join(','), target], opts.cwd !== undefined ? { cwd: opts.cwd } : {});
  if (!opts.upper || volatileRefused) {
    await mount([]);
    return;
  }
  try {
    await mount(['volatile']);
  } catch {
    await mount([]);
    volatileRefused = true;
  }
}

/**
 * `volatile` (Linux 5.10+) spares a writable mount the sync of the whole
 * upper file system that its unmount would otherwise do: 20–30 ms per step
 * here. A step's upper dir is read back into a layer right after the
 * unmount, from the page cache, and never mounted again; a kernel that does
 * not know the option gets mounts without it.
 */
let volatileRefused = false;

/** Unmounts, lazily if the mount is still busy, so cleanup never hangs a build. */
export async function unmount(target: string): Promise<void> {
  try {
    await mountTool('umount', [target]);
  } catch {
    await mountTool('umount', ['-l', target]);
  }
}

/**
 * Runs `mount` or `umount` as busybox's applet when busybox is installed
 * (tsbuild's own tests need busybox-static anyway): a static program that
 * mounts and unmounts in half the time of util-linux's, which links
 * libmount and reads the mount table first. Each step mounts and unmounts
 * once, so this is about 3 ms per step. util-linux's otherwise.
 */
function mountTool(tool: 'mount' | 'umount', args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  busybox ??= onPath('busybox') ?? null;
  return busybox === null ? mustRun(tool, args, opts) : mustRun(busybox, [tool, ...args], opts);
}

let busybox: string | null | undefined;

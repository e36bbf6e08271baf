/**
 * Whiteouts and opaque directories in a diff dir (format: executor/diff-dirs.ts),
 * in their two forms:
 *
 * - overlay form: a deleted `NAME` is a 0:0 character device `NAME`; an
 *   opaque directory has the xattr `trusted.overlay.opaque=y`;
 * - marker form, for file systems that refuse those (overlayfs itself
 *   refuses 0:0 devices with EPERM; kernels before 6.7 also refuse
 *   `trusted.overlay.*` xattrs on it, ramfs every xattr): the OCI marker
 *   files, `.wh.NAME` beside where `NAME` was and `.wh..wh..opq` inside the
 *   opaque directory, each an empty regular file with mode 0.
 *
 * `WhiteoutWriter` writes the overlay form and falls back to markers when the
 * file system refuses it (remembered per file system for the process, so
 * a refusing one costs a single failed attempt per form). Readers use
 * `isWhiteoutDevice`, `isMarker` and `deletedBy`.
 */
import { closeSync, constants, lstatSync, openSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeNode, ToolError, writeXattrs } from './fs-tools.ts';

/** The OCI spec's prefix of whiteout names; no ordinary file may use it. */
export const WHITEOUT_PREFIX = '.wh.';
/** The name of an opaque directory's marker, inside it. */
export const OPAQUE_MARKER = '.wh..wh..opq';
/** The overlay form's mark of an opaque directory (value `y`). */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** An overlay-form whiteout: a 0:0 character device. */
export function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Whether an entry with a `.wh.` name is a marker: an empty regular file with mode 0. */
export function isMarker(st: Stats): boolean {
  return st.isFile() && st.size === 0 && (st.mode & 0o7777) === 0;
}

/**
 * The name a whiteout marker (or a tar's whiteout entry) named `name`
 * deletes; undefined for a name no whiteout has (no `.wh.` prefix, nothing
 * or `.` or `..` after it, a second `.wh.` as in the opaque marker's).
 */
export function deletedBy(name: string): string | undefined {
  if (!name.startsWith(WHITEOUT_PREFIX)) return undefined;
  const target = name.slice(WHITEOUT_PREFIX.length);
  return target === '' || target === '.' || target === '..' || target.startsWith(WHITEOUT_PREFIX) ? undefined : target;
}

/** The marker that deletes `path`. */
export function markerPath(path: string): string {
  return join(dirname(path), WHITEOUT_PREFIX + basename(path));
}

/** The errors of a file system that does not take the overlay form. */
const REFUSALS = new Set(['EPERM', 'EOPNOTSUPP', 'EINVAL']);

/** File systems (by device number) seen refusing 0:0 devices, and `trusted.overlay.*` xattrs. */
const refusesDevices = new Set<number>();
const refusesXattrs = new Set<number>();

/** Writes the whiteouts and opaque marks of one diff dir, in the overlay form where the file system takes it. */
export class WhiteoutWriter {
  private readonly dev: number;

  constructor(diffDir: string) {
    this.dev = lstatSync(diffDir).dev;
  }

  /** Makes `path` (which must not exist) a whiteout. */
  async whiteout(path: string): Promise<void> {
    if (!refusesDevices.has(this.dev)) {
      try {
        return await makeNode(path, 'char', 0, 0);
      } catch (e) {
        if (!refused(e)) throw e;
        refusesDevices.add(this.dev);
      }
    }
    writeMarker(markerPath(path));
  }

  /** Marks the directories `dirs` opaque. */
  async opaque(dirs: readonly string[]): Promise<void> {
    if (dirs.length === 0) return;
    if (!refusesXattrs.has(this.dev)) {
      try {
        return await writeXattrs(dirs.map((path) => ({ path, name: OPAQUE_XATTR, value: Buffer.from('y') })));
      } catch (e) {
        if (!refused(e)) throw e;
        refusesXattrs.add(this.dev);
      }
    }
    for (const dir of dirs) writeMarker(join(dir, OPAQUE_MARKER));
  }
}

function refused(e: unknown): boolean {
  return e instanceof ToolError && e.errno !== undefined && REFUSALS.has(e.errno);
}

/** An empty file with mode 0 (never through a symlink). */
function writeMarker(path: string): void {
  closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0));
}

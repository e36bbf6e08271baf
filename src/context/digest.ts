/**
 * The content digest of a COPY/ADD selection from the build context: the
 * input its cache key depends on. It is part of the cache-key contract, so
 * it is specified exactly here; any change to it needs a new version tag.
 *
 * The digest is `sha256:` + the hex sha256 of this byte stream (text in UTF-8):
 *
 *     "tsbuild-context-v1\n"
 *     for each selected path, in the order the sources selected them:
 *       "source" NUL <path relative to the context root> NUL
 *       for each entry: the selected path itself, then, for a directory,
 *       every entry below it that is in the context (depth first, the names
 *       in each directory sorted in JavaScript string order, a directory
 *       before its content):
 *         <type> NUL <path relative to the selected path; "." for itself> NUL
 *         <permission bits, mode & 0o7777, as 4 octal digits> NUL <data> NUL
 *
 * where <type> and <data> are:
 *
 *   file     sha256 of the content, lower-case hex (a socket counts as an
 *            empty file, as BuildKit sends it)
 *   hardlink a regular file that is the same file (device and inode) as an
 *            earlier file of this selection: that file's path relative to
 *            the context root (COPY keeps such files linked)
 *   dir      empty
 *   symlink  the link target as stored (never followed)
 *   fifo     empty
 *   char     "<major>,<minor>" of the device, decimal
 *   block    "<major>,<minor>" of the device, decimal
 *
 * Nothing else goes in: not mtime, atime or ctime, not owner or group, not
 * the inode or device a file lives on (beyond which files are hard links of
 * each other), not xattrs, and nothing the ignore file excludes. So a fresh clone of the same tree
 * gives the same digest, while one changed byte, permission bit, link target
 * or added/removed file changes it. Paths cannot contain NUL, so the stream
 * is unambiguous.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../image/oci.ts';
import type { ContextSelection } from './select.ts';
import { deviceMajor, deviceMinor, type ContextEntry } from './tree.ts';

/** The digest of a selection whose regular files have their `sha256` filled in. */
export function digestSelection(selection: ContextSelection): Digest {
  const h = createHash('sha256');
  // the first path seen of each file (device and inode: the start of its stamp)
  const firstOf = new Map<string, string>();
  // many small updates cost more than the hashing: feed the stream in chunks
  let chunk = 'tsbuild-context-v1\n';
  for (const path of selection.paths) {
    chunk += `source\0${path.rel}\0`;
    const strip = path.rel === '.' ? 0 : path.rel.length + 1;
    for (const e of selection.entries.get(path) ?? []) {
      const rel = e.rel === path.rel ? '.' : e.rel.slice(strip);
      const perm = e.perm.toString(8).padStart(4, '0');
      const first = e.kind === 'file' ? firstOf.get(e.stamp.slice(0, 16)) : undefined;
      if (first !== undefined) chunk += `hardlink\0${rel}\0${perm}\0${first}\0`;
      else {
        if (e.kind === 'file') firstOf.set(e.stamp.slice(0, 16), e.rel);
        chunk += `${typeName(e)}\0${rel}\0${perm}\0${payload(e)}\0`;
      }
      if (chunk.length > 65536) {
        h.update(chunk);
        chunk = '';
      }
    }
  }
  h.update(chunk);
  return `sha256:${h.digest('hex')}`;
}

function typeName(e: ContextEntry): string {
  return e.kind === 'socket' ? 'file' : e.kind;
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

function payload(e: ContextEntry): string {
  switch (e.kind) {
    case 'file':
      if (e.sha256 === undefined) throw new Error(`internal: no content hash for ${e.rel}`);
      return e.sha256;
    case 'socket':
      return EMPTY_SHA256;
    case 'symlink':
      return e.target ?? '';
    case 'char':
    case 'block':
      return `${deviceMajor(e.rdev ?? 0n)},${deviceMinor(e.rdev ?? 0n)}`;
    default:
      return '';
  }
}

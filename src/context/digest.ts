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
import type { ContextSelection, SelectedPath } from './select.ts';
import { deviceMajor, deviceMinor, type ContextEntry } from './tree.ts';

/** The digest of a selection whose regular files have their `sha256` filled in. */
export function digestSelection(selection: ContextSelection): Digest {
  const h = createHash('sha256').update('tsbuild-context-v1\n');
  // the first path seen of each file (device and inode: the start of its stamp)
  const firstOf = new Map<string, string>();
  // a file with one name can only be seen twice when sources overlap: with one source it needs no lookup
  const linksMatter = selection.paths.length > 1 ? 0 : 1;
  // the rest of the stream is fields, each followed by NUL, hashed a few thousand at a time: joining them
  // makes less garbage than concatenating, and one update per field would cost more than the hashing
  let fields: string[] = [];
  // indexes, not for-of: these loops run once per build, mostly before the JIT has optimized them, and
  // unoptimized for-of allocates on every step
  for (let p = 0; p < selection.paths.length; p++) {
    const path = selection.paths[p] as SelectedPath;
    fields.push('source', path.rel);
    const strip = path.rel === '.' ? 0 : path.rel.length + 1;
    const entries = selection.entries.get(path) ?? [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as ContextEntry;
      const rel = e.rel === path.rel ? '.' : strip === 0 ? e.rel : e.rel.slice(strip);
      const id = e.kind === 'file' && e.links > linksMatter ? e.stamp.slice(0, 16) : undefined;
      const first = id === undefined ? undefined : firstOf.get(id);
      if (first !== undefined) fields.push('hardlink', rel, permText(e.perm), first);
      else {
        if (id !== undefined) firstOf.set(id, e.rel);
        fields.push(typeName(e), rel, permText(e.perm), payload(e));
      }
      if (fields.length >= FIELDS_PER_UPDATE) {
        h.update(`${fields.join('\0')}\0`);
        fields = [];
      }
    }
  }
  if (fields.length > 0) h.update(`${fields.join('\0')}\0`);
  return `sha256:${h.digest('hex')}`;
}

/** About how many fields are hashed per update (where the stream is cut makes no difference to the digest). */
const FIELDS_PER_UPDATE = 4096;

const PERM_TEXT: string[] = [];

/** Permission bits as 4 octal digits. */
function permText(perm: number): string {
  return (PERM_TEXT[perm] ??= perm.toString(8).padStart(4, '0'));
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

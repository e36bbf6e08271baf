import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Digest } from '../image/oci.ts';
import type { SelectedPath } from './select.ts';

/**
 * The content digest of a selection of context paths: the input a COPY/ADD
 * cache key depends on.
 *
 * What goes in, per entry, in sorted path order below each selected path:
 * the path relative to the root, the type (file, dir,
 * symlink, other), the permission bits (`mode & 0o7777`), a symlink's target,
 * and a file's sha256. Deliberately left out: mtime, atime, ctime, owner and
 * inode, so a fresh clone of the same tree, or the same tree under another
 * umask-less copy, gives the same digest. Symlinks are never followed.
 */
export async function digestSelection(root: string, selection: readonly SelectedPath[]): Promise<Digest> {
  const h = createHash('sha256');
  for (const sel of selection) {
    h.update(`select ${sel.rel}\0`);
    await hashTree(root, sel.rel, h);
  }
  return `sha256:${h.digest('hex')}`;
}

async function hashTree(root: string, rel: string, h: ReturnType<typeof createHash>): Promise<void> {
  const abs = posix.join(root, rel);
  const st = await lstat(abs);
  const perm = (st.mode & 0o7777).toString(8);
  if (st.isSymbolicLink()) {
    h.update(`l ${rel} ${perm} ${await readlink(abs)}\0`);
  } else if (st.isDirectory()) {
    h.update(`d ${rel} ${perm}\0`);
    for (const name of (await readdir(abs)).sort()) await hashTree(root, `${rel}/${name}`, h);
  } else if (st.isFile()) {
    h.update(`f ${rel} ${perm} ${await fileDigest(abs)}\0`);
  } else {
    h.update(`o ${rel} ${perm}\0`);
  }
}

function fileDigest(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fh = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => fh.update(b))
      .on('error', reject)
      .on('end', () => resolve(fh.digest('hex')));
  });
}

/**
 * `archive(files, { mtime })`: a tar of a few files given as bytes or as
 * paths on disk, for export archives (OCI layouts, docker-archive). Every
 * entry is owned by 0:0 with mode 0644 (directories 0755) and the given mtime,
 * so the archive depends only on the contents. Files on disk are streamed and
 * must keep the size they were announced with.
 */
import { createReadStream } from 'node:fs';
import { UserError } from '../errors.ts';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-format.ts';

export type ArchiveFile =
  | { path: string; kind: 'directory' }
  | { path: string; kind: 'bytes'; bytes: Buffer }
  | { path: string; kind: 'file'; source: string; size: number };

export async function* archive(files: readonly ArchiveFile[], opts: { mtime: number }): AsyncGenerator<Buffer> {
  const base = { uid: 0, gid: 0, mtime: opts.mtime };
  for (const f of files) {
    if (f.kind === 'directory') {
      yield encodeHeader({ ...base, path: f.path.endsWith('/') ? f.path : `${f.path}/`, type: 'directory', mode: 0o755, size: 0 });
      continue;
    }
    const size = f.kind === 'bytes' ? f.bytes.length : f.size;
    yield encodeHeader({ ...base, path: f.path, type: 'file', mode: 0o644, size });
    if (f.kind === 'bytes') {
      yield f.bytes;
    } else {
      let seen = 0;
      for await (const chunk of createReadStream(f.source, { highWaterMark: 1 << 20 })) {
        seen += (chunk as Buffer).length;
        if (seen > size) break;
        yield chunk as Buffer;
      }
      if (seen !== size) throw new UserError(`${f.source} is not the ${size} bytes its descriptor says`);
    }
    yield padding(size);
  }
  yield END_OF_ARCHIVE;
}

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DiffDirs } from '../../src/executor/diff-dirs.ts';
import { BlobStore } from '../../src/image/blob-store.ts';

/** Diff dirs and a blob store under `root`, with numbered scratch dirs in `root/scratch/`: what a snapshotter needs, without a build. */
export function diffStore(root: string): { diffs: DiffDirs; scratch: () => Promise<string> } {
  let n = 0;
  const scratch = async (): Promise<string> => {
    const dir = join(root, 'scratch', String(++n));
    await mkdir(dir, { recursive: true });
    return dir;
  };
  return { diffs: new DiffDirs(root, new BlobStore(join(root, 'blobs')), scratch), scratch };
}

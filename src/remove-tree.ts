import { mustRun } from './executor/run-command.ts';

/**
 * Removes `path` and everything below it (nothing when it is absent), as
 * `rm -rf`: for a diff dir of tens of thousands of files, many times faster
 * than node's recursive rm (an lstat and an unlink per file through the
 * thread pool), and on another core.
 */
export async function removeTree(path: string): Promise<void> {
  await mustRun('rm', ['-rf', '--', path]);
}

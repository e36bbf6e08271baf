import { existsSync } from 'node:fs';
import { hostCommand } from '../host-commands.ts';

/**
 * Bytes `paths` occupy on disk together (allocated blocks, as `du -s`
 * counts them), the trees below them included: a file with several links
 * counts once across all of them. Missing paths count 0.
 *
 * Measured by `du`: a store holds hundreds of thousands of files, which
 * du walks many times faster than node's file system calls can (an lstat
 * per file through the thread pool), and on another core.
 */
export async function diskUsage(...paths: string[]): Promise<number> {
  const present = paths.filter((p) => existsSync(p));
  if (present.length === 0) return 0;
  const r = await hostCommand('du', ['-s', '-c', '-B1', '--', ...present]);
  // du still totals the rest when a file vanishes while it walks (a concurrent build): its exit status then says 1
  const last = r.stdout.toString().trimEnd().split('\n').pop() ?? '';
  const total = /^(\d+)\ttotal$/.exec(last);
  if (!total) throw new Error(`du ${present.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return Number(total[1]);
}

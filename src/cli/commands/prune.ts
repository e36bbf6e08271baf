import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { bool, repeatable, rootOption, single } from '../flags.ts';

const builder = (y: Argv) =>
  y
    .option('all', { alias: 'a', type: 'boolean', default: false, coerce: bool, describe: 'remove every cache record, cache mounts and the build history, not only what no named image uses' })
    .option('keep-storage', { type: 'string', requiresArg: true, coerce: single('--keep-storage'), describe: 'remove least recently used records until the store fits in SIZE (e.g. 10GB)' })
    .option('filter', repeatable('until=DURATION: only what no build used for DURATION (e.g. 24h, 7d)'))
    .option('root', rootOption);

type PruneArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild prune [--all] [--keep-storage SIZE] [--filter until=DURATION]`:
 * garbage collection of the build cache, like `docker builder prune`. By
 * default it removes the cache records no named image uses, then every blob
 * and diff dir nothing refers to any more. It waits for running builds to
 * end (and builds starting meanwhile wait for it), so nothing a build uses
 * is removed. See `src/cache/gc.ts`.
 */
export const pruneCommand: CommandModule<object, PruneArgv> = {
  command: 'prune',
  describe: 'remove build cache (records, layers, diff dirs) no named image needs',
  builder,
  handler: async (argv) => {
    const { parseDuration, parseSize } = await import('../../cache/units.ts');
    const { pruneStore } = await import('../../cache/gc.ts');
    const { humanSize } = await import('../../progress/units.ts');
    let unusedForMs: number | undefined;
    for (const f of argv.filter) {
      const m = /^(until|unused-for)=(.+)$/.exec(f);
      if (!m) throw new UserError(`invalid --filter ${JSON.stringify(f)}: expected until=DURATION (e.g. until=24h)`);
      unusedForMs = parseDuration(m[2] as string);
    }
    const report = await pruneStore(argv.root, {
      all: argv.all,
      ...(argv['keep-storage'] !== undefined && { keepStorage: parseSize(argv['keep-storage']) }),
      ...(unusedForMs !== undefined && { unusedForMs }),
      onWait: (builds) => process.stderr.write(builds > 0 ? `waiting for ${builds} running build(s) to finish...\n` : 'waiting for another prune to finish...\n'),
    });
    if (!report) throw new Error('internal: a waiting prune came back empty');
    process.stdout.write(`Deleted ${report.records} cache records, ${report.blobs} blobs, ${report.snapshots} diff dirs\nTotal reclaimed space: ${humanSize(report.freed)}\n`);
  },
};

import type { Argv, CommandModule } from 'yargs';
import { single } from '../flags.ts';
import { UserError } from '../../errors.ts';

const builder = (y: Argv) =>
  y
    .positional('dir', { type: 'string', default: '.', describe: 'build context directory' })
    .option('file', { alias: 'f', type: 'string', requiresArg: true, describe: 'the Dockerfile (its <name>.dockerignore takes precedence)', coerce: single('--file') })
    .option('explain', { type: 'string', requiresArg: true, describe: 'say whether PATH is in the context, and which ignore-file line decided', coerce: single('--explain') })
    .option('list', { type: 'boolean', describe: 'print every path in the context, sorted' })
    .conflicts('explain', 'list');

type ContextArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild context [DIR] --explain PATH | --list [-f Dockerfile]`: what the
 * build context holds after the ignore file. `--explain` prints
 * `PATH: in the context: <why>` or `PATH: not in the context: <why>`, naming
 * the deciding pattern as `file:line: pattern`; `--list` prints each path in
 * the context relative to DIR, one per line, sorted.
 */
export const contextCommand: CommandModule<object, ContextArgv> = {
  command: 'context [dir]',
  describe: 'show what the build context holds after .dockerignore',
  builder,
  handler: async (argv) => {
    if (argv.explain === undefined && !argv.list) throw new UserError('tsbuild context: give --explain PATH or --list');
    const { resolve } = await import('node:path');
    const { BuildContext } = await import('../../context/build-context.ts');
    const { explainPath } = await import('../../context/explain.ts');
    const ctx = await BuildContext.open(argv.dir, { dockerfile: resolve(argv.file ?? resolve(argv.dir, 'Dockerfile')) });
    try {
      if (argv.explain !== undefined) {
        const e = explainPath(ctx.tree, argv.explain);
        process.stdout.write(`${e.path}: ${e.inContext ? 'in the context' : 'not in the context'}: ${e.reason}\n`);
      } else {
        const paths = ctx.tree.below('.').map((e) => e.rel).sort();
        // `--list | head` closes the pipe early: that is not an error
        process.stdout.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EPIPE') throw e;
        });
        process.stdout.write(paths.map((p) => `${p}\n`).join(''));
      }
    } finally {
      await ctx.close();
    }
  },
};

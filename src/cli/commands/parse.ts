import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { oneOf, single } from '../flags.ts';
import { readStdin } from '../stdin.ts';

const builder = (y: Argv) =>
  y
    .positional('path', { type: 'string', describe: 'the Dockerfile (same as -f)' })
    .option('file', { alias: 'f', type: 'string', requiresArg: true, describe: 'the Dockerfile; - reads stdin (default: ./Dockerfile)', coerce: single('--file') })
    .option('format', { type: 'string', default: 'text', describe: 'text (an outline) or json (the whole AST)', coerce: oneOf('--format', ['text', 'json'] as const) })
    .option('json', { type: 'boolean', default: false, describe: 'same as --format json' });

type ParseArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild parse [-f FILE] [--format json]`: a readable outline of the
 * parsed Dockerfile (one line per instruction with its location), or as
 * JSON the whole AST (see `src/parser/ast.ts`). A Dockerfile the parser
 * rejects is a UserError: location, source line, caret and hint.
 */
export const parseCommand: CommandModule<object, ParseArgv> = {
  command: 'parse [path]',
  describe: 'print the parsed Dockerfile (an outline, or JSON)',
  builder,
  handler: async (argv) => {
    const { readFile } = await import('node:fs/promises');
    const { outlineDockerfile } = await import('../../parser/outline.ts');
    const { parseDockerfile } = await import('../../parser/parse.ts');
    const file = argv.file ?? argv.path ?? 'Dockerfile';
    const text = await (file === '-' ? readStdin().then((b) => b.toString('utf8')) : readFile(file, 'utf8')).catch(() => {
      throw new UserError(`cannot read ${file}`);
    });
    const dockerfile = parseDockerfile(text, file === '-' ? 'stdin' : file);
    const json = argv.json || argv.format === 'json';
    process.stdout.write(json ? `${JSON.stringify(dockerfile, null, 2)}\n` : outlineDockerfile(dockerfile));
  },
};

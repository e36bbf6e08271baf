import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { parseDockerfile } from '../../parser/parse.ts';

const builder = (y: Argv) => y.positional('file', { type: 'string', default: 'Dockerfile', describe: 'the Dockerfile' });

type ParseArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/** `tsbuild parse [FILE]`: the AST as JSON. */
export const parseCommand: CommandModule<object, ParseArgv> = {
  command: 'parse [file]',
  describe: 'print the parsed Dockerfile as JSON',
  builder,
  handler: async (argv) => {
    const text = await readFile(argv.file, 'utf8').catch(() => {
      throw new UserError(`cannot read ${argv.file}`);
    });
    process.stdout.write(`${JSON.stringify(parseDockerfile(text, argv.file), null, 2)}\n`);
  },
};

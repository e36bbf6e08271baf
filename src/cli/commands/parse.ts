import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { outlineDockerfile } from '../../parser/outline.ts';
import { parseDockerfile } from '../../parser/parse.ts';

const builder = (y: Argv) =>
  y
    .positional('path', { type: 'string', describe: 'the Dockerfile (same as -f)' })
    .option('file', { alias: 'f', type: 'string', describe: 'the Dockerfile; - reads stdin (default: ./Dockerfile)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the AST as JSON, for tools' });

type ParseArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `tsbuild parse [-f FILE] [--json]`: a readable outline of the parsed
 * Dockerfile (one line per instruction with its location), or with
 * `--json` the whole AST as JSON (see `src/parser/ast.ts`). A Dockerfile the
 * parser rejects is a UserError: location, source line, caret and hint.
 */
export const parseCommand: CommandModule<object, ParseArgv> = {
  command: 'parse [path]',
  describe: 'print the parsed Dockerfile (an outline, or JSON with --json)',
  builder,
  handler: async (argv) => {
    const file = argv.file ?? argv.path ?? 'Dockerfile';
    const text = await (file === '-' ? readStdin() : readFile(file, 'utf8')).catch(() => {
      throw new UserError(`cannot read ${file}`);
    });
    const dockerfile = parseDockerfile(text, file === '-' ? 'stdin' : file);
    process.stdout.write(argv.json ? `${JSON.stringify(dockerfile, null, 2)}\n` : outlineDockerfile(dockerfile));
  },
};

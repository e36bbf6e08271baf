import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../errors.ts';
import { buildCommand } from './commands/build.ts';
import { parseCommand } from './commands/parse.ts';
import { planCommand } from './commands/plan.ts';

/** The `tsbuild` command line: each command lives in `commands/`. */
export async function main(args: string[]): Promise<void> {
  await yargs(args)
    .scriptName('tsbuild')
    // docker's flags include `--no-cache`, which must not mean "cache=false".
    .parserConfiguration({ 'boolean-negation': false })
    .strict()
    .command(buildCommand)
    .command(parseCommand)
    .command(planCommand)
    .demandCommand(1)
    .fail((msg, err) => {
      throw err ?? new UserError(msg);
    })
    .help()
    .version(false)
    .parseAsync();
}

main(hideBin(process.argv)).catch((e: unknown) => {
  if (e instanceof UserError) {
    process.stderr.write(`error: ${e.format()}\n`);
    process.exit(1);
  }
  process.stderr.write(`tsbuild: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});

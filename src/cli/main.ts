import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../errors.ts';
import { buildCommand } from './commands/build.ts';
import { contextCommand } from './commands/context.ts';
import { historyCommand } from './commands/history.ts';
import { imagesCommand } from './commands/images.ts';
import { inspectCommand } from './commands/inspect.ts';
import { loginCommand } from './commands/login.ts';
import { logoutCommand } from './commands/logout.ts';
import { parseCommand } from './commands/parse.ts';
import { planCommand } from './commands/plan.ts';
import { pullCommand } from './commands/pull.ts';
import { pushCommand } from './commands/push.ts';
import { rmiCommand } from './commands/rmi.ts';
import { tagCommand } from './commands/tag.ts';

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
    .command(contextCommand)
    .command(imagesCommand)
    .command(tagCommand)
    .command(rmiCommand)
    .command(inspectCommand)
    .command(historyCommand)
    .command(pullCommand)
    .command(pushCommand)
    .command(loginCommand)
    .command(logoutCommand)
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
    for (const line of e.explain()) process.stderr.write(`${line}\n`);
    process.exit(1);
  }
  process.stderr.write(`tsbuild: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});

import yargs, { type Argv } from 'yargs';
import { UserError } from '../errors.ts';
import { closest } from '../parser/suggest.ts';
import { buildCommand } from './commands/build.ts';
import { contextCommand } from './commands/context.ts';
import { doctorCommand } from './commands/doctor.ts';
import { historyCommand } from './commands/history.ts';
import { imagesCommand } from './commands/images.ts';
import { inspectCommand } from './commands/inspect.ts';
import { loginCommand } from './commands/login.ts';
import { logoutCommand } from './commands/logout.ts';
import { parseCommand } from './commands/parse.ts';
import { planCommand } from './commands/plan.ts';
import { pullCommand } from './commands/pull.ts';
import { pruneCommand } from './commands/prune.ts';
import { pushCommand } from './commands/push.ts';
import { rmiCommand } from './commands/rmi.ts';
import { tagCommand } from './commands/tag.ts';
import { COMMANDS } from './commands/index.ts';
import { STDIN_ARG } from './flags.ts';

/**
 * The `tsbuild` command line. Each command is a module in `commands/` whose
 * handler loads what it needs when it runs, so `--help` and completion load
 * only yargs and the flag definitions.
 */
export async function main(given: string[]): Promise<void> {
  checkBooleanValues(given);
  const args = markStdin(given);
  await yargs(asDefaultCommand(args))
    .scriptName('tsbuild')
    .usage('tsbuild [build] [CONTEXT] [flags]: build an image from a Dockerfile, as docker build does\n\ntsbuild <command> [flags]')
    // docker's flags include `--no-cache`, which must not mean "cache=false".
    .parserConfiguration({ 'boolean-negation': false })
    .strict()
    .option('debug', { type: 'boolean', default: false, global: true, describe: 'show the stack trace of errors' })
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
    .command(pruneCommand)
    .command(doctorCommand)
    .completion('completion', 'print a bash or zsh completion script: tsbuild completion >> ~/.bashrc')
    .fail((msg, err) => {
      // yargs re-throws what a coerce function throws as its own YError, with the message kept
      if (err instanceof UserError || (err && err.name !== 'YError')) throw err;
      throw usageError(err?.message ?? msg, args);
    })
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .parseAsync();
}

/**
 * `build` named as the first word runs as the default command when no later
 * word names a command or asks for help (else the arguments stay as they
 * are): yargs renders a named command's whole help text as soon as its
 * handler starts (13 ms of every build), to print it should the command fail
 * later, and tsbuild's failures never print it (see `fail` above).
 */
function asDefaultCommand(args: readonly string[]): readonly string[] {
  if (args[0] !== 'build') return args;
  const rest = args.slice(1);
  const special = (a: string): boolean => Object.hasOwn(COMMANDS, a) || a === 'completion' || a === '--' || a === '--help' || /^-[^-]*h/.test(a);
  return rest.some(special) ? args : rest;
}

/** yargs' complaint about the command line, as a one-line UserError with a way out. */
function usageError(msg: string, args: readonly string[]): UserError {
  const command = commandOf(args);
  const help = `run "tsbuild ${command === 'build' ? '' : `${command} `}--help" for its flags`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg);
  if (unknown) {
    const names = (unknown[1] ?? '').split(', ');
    const flags = names.filter((n) => args.some((a) => a === flagOf(n) || a.startsWith(`${flagOf(n)}=`)));
    if (flags.length === 0) return new UserError(`unexpected argument${names.length > 1 ? 's' : ''} ${names.map((n) => JSON.stringify(n)).join(', ')}`, undefined, { hint: help });
    const first = flags[0] as string;
    const guess = closest(first, knownFlags(command));
    return new UserError(`unknown flag ${flags.map(flagOf).join(', ')}`, undefined, { hint: guess ? `did you mean --${guess}? (${help})` : help });
  }
  const needsValue = /^Not enough arguments following: (.*)$/.exec(msg);
  if (needsValue) return new UserError(`${flagOf(needsValue[1] ?? '')} needs a value`, undefined, { hint: help });
  const missing = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(msg);
  if (missing) return new UserError(`tsbuild ${command}: ${missing[2]} argument${missing[2] === '1' ? '' : 's'} needed, ${missing[1]} given`, undefined, { hint: help });
  const first = msg.split('\n')[0] ?? msg;
  return new UserError(first.charAt(0).toLowerCase() + first.slice(1), undefined, { hint: help });
}

/** The command the arguments name: their first word, else the default, build. */
function commandOf(args: readonly string[]): string {
  return Object.hasOwn(COMMANDS, args[0] ?? '') ? (args[0] as string) : 'build';
}

function flagOf(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** yargs' own view of a builder's flags (not in its type declarations). */
interface WithOptions {
  getOptions(): { key: Record<string, unknown>; boolean: string[] };
}

/** The flags of `command` as yargs knows them once its builder ran. */
function optionsOf(command: string): { key: Record<string, unknown>; boolean: string[] } {
  const builder = COMMANDS[command]?.builder;
  if (typeof builder !== 'function') return { key: {}, boolean: [] };
  return ((builder as (y: Argv) => Argv)(yargs([])) as unknown as WithOptions).getOptions();
}

/** The boolean flags of `command` and their aliases, with the global ones. */
function booleansOf(command: string): Set<string> {
  return new Set([...optionsOf(command).boolean, 'debug', 'help', 'h']);
}

/** The long flags of a command, for "did you mean". */
function knownFlags(command: string): string[] {
  return Object.keys(optionsOf(command).key).filter((k) => k.length > 1);
}

/**
 * yargs drops a `-` argument unless it is a flag's value; `tsbuild build -`
 * (the context on stdin) needs it, so a `-` that is not a flag's value is
 * passed as STDIN_ARG.
 */
function markStdin(args: readonly string[]): string[] {
  if (!args.includes('-')) return [...args];
  const booleans = booleansOf(commandOf(args));
  const takesValue = (flag: string | undefined): boolean =>
    flag !== undefined && /^--?[^-]/.test(flag) && !flag.includes('=') && !booleans.has(flag.replace(/^--?/, ''));
  return args.map((a, i) => (a === '-' && !takesValue(args[i - 1]) ? STDIN_ARG : a));
}

/** yargs takes `--pull=maybe` as false: a boolean flag given a value must be given true or false. */
function checkBooleanValues(args: readonly string[]): void {
  if (!args.some((a) => a.startsWith('--') && a.includes('='))) return;
  const booleans = booleansOf(commandOf(args));
  for (const a of args) {
    const m = /^--([\w-]+)=(.*)$/s.exec(a);
    if (m && booleans.has(m[1] as string) && m[2] !== 'true' && m[2] !== 'false') {
      throw new UserError(`invalid ${a}: --${m[1]} is true or false (or the flag alone)`);
    }
  }
}

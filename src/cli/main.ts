import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { build } from '../build/build.ts';
import { UserError } from '../errors.ts';
import { parseDockerfile } from '../parser/parse.ts';
import { plainRenderer } from '../progress/plain.ts';
import { readFile } from 'node:fs/promises';
import { parseOutputSpec } from './output-spec.ts';

/** `$TSBUILD_ROOT`, else /var/lib/tsbuild for root, else under XDG_DATA_HOME. */
function defaultRoot(): string {
  if (process.env.TSBUILD_ROOT) return process.env.TSBUILD_ROOT;
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  return `${process.env.XDG_DATA_HOME ?? `${process.env.HOME ?? '/tmp'}/.local/share`}/tsbuild`;
}

function parseBuildArgs(values: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      const fromEnv = process.env[v];
      if (fromEnv !== undefined) m.set(v, fromEnv);
    } else m.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return m;
}

function sourceDateEpoch(flag: string | undefined): number | undefined {
  const v = flag ?? process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new UserError(`invalid SOURCE_DATE_EPOCH ${JSON.stringify(v)}: expected seconds since 1970`);
  return Number(v);
}

interface BuildFlags {
  context: string;
  file: string | undefined;
  tag: string[];
  buildArgs: string[];
  target: string | undefined;
  noCache: boolean;
  output: string[];
  root: string;
  sourceDateEpoch: string | undefined;
}

async function runBuild(argv: BuildFlags): Promise<void> {
  const progress = plainRenderer((t) => process.stderr.write(t));
  let abort: (() => Promise<void>) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the build\n`);
    void (abort?.() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const epoch = sourceDateEpoch(argv.sourceDateEpoch);
  const result = await build({
    contextDir: argv.context,
    ...(argv.file !== undefined && { dockerfile: argv.file }),
    root: argv.root,
    tags: argv.tag,
    buildArgs: parseBuildArgs(argv.buildArgs),
    ...(argv.target !== undefined && { target: argv.target }),
    noCache: argv.noCache,
    outputs: argv.output.map(parseOutputSpec),
    ...(epoch !== undefined && { sourceDateEpoch: epoch }),
    progress,
    onAbortable: (fn) => {
      abort = fn;
    },
  });
  process.stdout.write(`${result.manifest.digest}\n`);
}

/** The `tsbuild` command line. */
export async function main(args: string[]): Promise<void> {
  await yargs(args)
    .scriptName('tsbuild')
    .strict()
    .command(
      ['build [context]', '$0'],
      'build an image from a Dockerfile',
      (y) =>
        y
          .positional('context', { type: 'string', default: '.', describe: 'build context directory' })
          .option('file', { alias: 'f', type: 'string', describe: 'Dockerfile path (default CONTEXT/Dockerfile)' })
          .option('tag', { alias: 't', type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'name the image (repeatable)' })
          .option('build-arg', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'set a build-time variable NAME=VALUE' })
          .option('target', { type: 'string', describe: 'build this stage' })
          .option('no-cache', { type: 'boolean', default: false, describe: 'do not use the cache' })
          .option('output', { alias: 'o', type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'type=oci,dest=DIR,tar=false' })
          .option('root', { type: 'string', default: defaultRoot(), describe: 'state directory ($TSBUILD_ROOT)' })
          .option('source-date-epoch', { type: 'string', describe: 'clamp timestamps (default $SOURCE_DATE_EPOCH)' }),
      (argv) =>
        runBuild({
          context: argv.context,
          file: argv.file,
          tag: argv.tag,
          buildArgs: argv['build-arg'],
          target: argv.target,
          noCache: argv['no-cache'],
          output: argv.output,
          root: argv.root,
          sourceDateEpoch: argv['source-date-epoch'],
        }),
    )
    .command(
      'parse [file]',
      'print the parsed Dockerfile as JSON',
      (y) => y.positional('file', { type: 'string', default: 'Dockerfile' }),
      async (argv) => {
        const text = await readFile(argv.file, 'utf8').catch(() => {
          throw new UserError(`cannot read ${argv.file}`);
        });
        process.stdout.write(`${JSON.stringify(parseDockerfile(text, argv.file), null, 2)}\n`);
      },
    )
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

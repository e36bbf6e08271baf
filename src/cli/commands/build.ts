import type { Argv, CommandModule } from 'yargs';
import { build } from '../../build/build.ts';
import { UserError } from '../../errors.ts';
import { parseCompression } from '../../image/compression.ts';
import { plainRenderer } from '../../progress/plain.ts';
import { parseBuildArgs } from '../build-args.ts';
import { parseOutputSpec } from '../output-spec.ts';
import { parseSecrets, parseSsh } from '../secret-spec.ts';
import { defaultRoot } from '../root.ts';

function sourceDateEpoch(flag: string | undefined): number | undefined {
  const v = flag ?? process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new UserError(`invalid SOURCE_DATE_EPOCH ${JSON.stringify(v)}: expected seconds since 1970`);
  return Number(v);
}

const builder = (y: Argv) =>
  y
    .positional('context', { type: 'string', default: '.', describe: 'build context directory' })
    .option('file', { alias: 'f', type: 'string', describe: 'Dockerfile path (default CONTEXT/Dockerfile)' })
    .option('tag', { alias: 't', type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'name the image (repeatable)' })
    .option('build-arg', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'set a build-time variable NAME=VALUE' })
    .option('target', { type: 'string', describe: 'build this stage' })
    .option('no-cache', { type: 'boolean', default: false, describe: 'do not use the cache' })
    // Not `array`: yargs then refuses `-o -` (the filesystem as a tar on stdout); repeated flags still collect.
    .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'type=local|tar|oci|docker,dest=PATH|- (repeatable; see docs)' })
    .option('root', { type: 'string', default: defaultRoot(), describe: 'state directory ($TSBUILD_ROOT)' })
    .option('secret', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'a secret for RUN --mount=type=secret: id=X,src=FILE or id=X,env=VAR' })
    .option('ssh', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'an SSH agent for RUN --mount=type=ssh: default or id=SOCKET' })
    .option('source-date-epoch', { type: 'string', describe: 'clamp timestamps (default $SOURCE_DATE_EPOCH)' })
    .option('compression', { type: 'string', describe: 'layer compression: gzip (default), zstd or none' })
    .option('compression-level', { type: 'number', describe: 'gzip 0-9 (default 6), zstd 0-22 (default 3)' });

type BuildArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/** `tsbuild [build] [CONTEXT]`: docker build's flags, mapped onto `build()`. */
export const buildCommand: CommandModule<object, BuildArgv> = {
  command: ['build [context]', '$0'],
  describe: 'build an image from a Dockerfile',
  builder,
  handler: async (argv) => {
    const progress = plainRenderer((t) => process.stderr.write(t));
    let abort: (() => Promise<void>) | undefined;
    let interrupted = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write(`\n${signal}: stopping the build (again to quit at once)\n`);
      void abort?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const epoch = sourceDateEpoch(argv['source-date-epoch']);
    const outputs = ([] as string[]).concat(argv.output ?? []).map(parseOutputSpec);
    const compressionGiven = argv.compression !== undefined || argv['compression-level'] !== undefined;
    const compression = compressionGiven ? parseCompression(argv.compression ?? 'gzip', argv['compression-level']) : undefined;
    let result;
    try {
      result = await build({
        contextDir: argv.context,
        ...(argv.file !== undefined && { dockerfile: argv.file }),
        root: argv.root,
        tags: argv.tag,
        buildArgs: parseBuildArgs(argv['build-arg']),
        ...(argv.target !== undefined && { target: argv.target }),
        noCache: argv['no-cache'],
        outputs,
        ...(compression && { compression }),
        ...(epoch !== undefined && { sourceDateEpoch: epoch }),
        secrets: parseSecrets(argv.secret),
        ssh: parseSsh(argv.ssh),
        progress,
        onAbortable: (fn) => {
          abort = fn;
          if (interrupted) void fn();
        },
      });
    } catch (e) {
      if (!interrupted) throw e;
      process.stderr.write('error: build interrupted\n');
      process.exit(130);
    }
    // With an output on stdout, the digest must not end up inside the tar.
    (outputs.some((o) => o.dest === '-') ? process.stderr : process.stdout).write(`${result.manifest.digest}\n`);
  },
};

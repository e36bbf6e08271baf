import type { Argv, CommandModule } from 'yargs';
import { bool, oneOf, progressOption, quietOption, repeatable, rootOption, single, wholeNumber } from '../flags.ts';

const NETWORKS = ['default', 'none', 'host'] as const;

const builder = (y: Argv) =>
  y
    .positional('context', { type: 'string', default: '.', describe: 'the build context: a directory, or - to read a tar context or a Dockerfile from stdin' })
    .option('file', { alias: 'f', type: 'string', requiresArg: true, describe: 'the Dockerfile (default CONTEXT/Dockerfile); - reads it from stdin', coerce: single('--file') })
    .option('build-arg', repeatable('set a build argument NAME=VALUE (NAME alone takes it from the environment)'))
    .option('target', { type: 'string', requiresArg: true, describe: 'build this stage', coerce: single('--target') })
    .option('platform', { type: 'string', requiresArg: true, describe: 'build for os/arch[/variant] (default: this machine)', coerce: single('--platform') })
    .option('build-context', repeatable('an extra named context: NAME=docker-image://REF or NAME=oci-layout://DIR[:TAG]'))
    .option('secret', repeatable('a secret for RUN --mount=type=secret: id=ID[,src=FILE|,env=VAR]'))
    .option('ssh', repeatable('an SSH agent for RUN --mount=type=ssh: default or ID=SOCKET'))
    .option('network', { type: 'string', default: 'default', describe: 'network of RUN steps: default, none or host', coerce: oneOf('--network', NETWORKS) })
    .group(['file', 'build-arg', 'target', 'platform', 'build-context', 'secret', 'ssh', 'network'], 'Input:')
    .option('tag', { alias: 't', ...repeatable('name the image NAME[:TAG] (repeatable)') })
    .option('label', repeatable('set an image label KEY=VALUE'))
    .option('pull', { type: 'boolean', default: false, describe: 'pull base images even when the local store has them', coerce: bool })
    .option('compression', { type: 'string', requiresArg: true, describe: 'layer compression: gzip (default), zstd or none', coerce: single('--compression') })
    .option('compression-level', { type: 'string', requiresArg: true, describe: 'gzip 0-9 (default 1), zstd 0-22 (default 3)', coerce: wholeNumber('--compression-level') })
    .option('source-date-epoch', { type: 'string', requiresArg: true, describe: 'clamp timestamps to these seconds (default $SOURCE_DATE_EPOCH)', coerce: single('--source-date-epoch') })
    .group(['tag', 'label', 'pull', 'compression', 'compression-level', 'source-date-epoch'], 'Image:')
    // Not `array`: yargs then refuses `-o -` (the filesystem as a tar on stdout); repeated flags still collect.
    .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'type=local|tar|oci|docker,dest=PATH|- (repeatable; see README)' })
    .option('push', { type: 'boolean', default: false, describe: 'push the image to the registry of each -t name', coerce: bool })
    .option('iidfile', { type: 'string', requiresArg: true, describe: 'write the image ID (config digest) to this file', coerce: single('--iidfile') })
    .option('metadata-file', { type: 'string', requiresArg: true, describe: 'write the build result as JSON to this file', coerce: single('--metadata-file') })
    .option('progress', progressOption)
    .option('quiet', quietOption)
    .group(['output', 'push', 'iidfile', 'metadata-file', 'progress', 'quiet'], 'Output:')
    .option('no-cache', { type: 'boolean', default: false, describe: 'run every step', coerce: bool })
    .option('no-cache-filter', repeatable('run the steps of these stages, whatever the cache holds'))
    .option('cache-from', repeatable('import build cache from this source (type=registry,ref=REF ...)'))
    .option('cache-to', repeatable('export build cache to this destination (type=registry,ref=REF ...)'))
    .option('explain', { type: 'boolean', default: false, describe: 'say why each step that runs missed the cache', coerce: bool })
    .option('cache-mounts-dir', { type: 'string', requiresArg: true, describe: 'import RUN --mount=type=cache dirs from DIR before the build, export them to it after', coerce: single('--cache-mounts-dir') })
    .option('root', rootOption)
    .group(['no-cache', 'no-cache-filter', 'cache-from', 'cache-to', 'cache-mounts-dir', 'explain', 'root'], 'Cache and state:');

/** The parsed flags of `tsbuild build`. */
export type BuildArgv = ReturnType<typeof builder> extends Argv<infer T> ? T : never;

/**
 * `tsbuild [build] [CONTEXT]`: docker build's flags, mapped onto `build()`
 * (see `build-command.ts`, loaded only when a build runs).
 */
export const buildCommand: CommandModule<object, BuildArgv> = {
  command: ['build [context]', '$0'],
  describe: 'build an image from a Dockerfile',
  builder,
  handler: async (argv) => (await import('../build-command.ts')).runBuild(argv),
};

/**
 * What `tsbuild build` does once its flags are parsed: checks every flag
 * value before any work starts, sets up the progress display, reads stdin
 * for `-`, runs `build()`, and reports the result (the manifest digest on
 * stdout, `--iidfile`, `--metadata-file`). Loaded only when a build runs.
 *
 * A rebuild the build memo answers needs little of this: what only some
 * flags, stdin or an error need is imported where it is used, so that such
 * a rebuild loads as few modules as possible (see scripts/bundle.mjs).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { build, type BuildOptions, type BuildResult } from '../build/build.ts';
import type { NamedContext } from '../build/named-contexts.ts';
import { UserError } from '../errors.ts';
import type { SecretSource } from '../executor/run-mounts.ts';
import { parseReference } from '../image/reference.ts';
import { createRenderer } from '../progress/renderer.ts';
import { parseBuildArgs } from './build-args.ts';
import type { BuildArgv } from './commands/build.ts';
import { EXIT_INTERRUPTED, reportSettings } from './error-report.ts';
import { STDIN_ARG } from './flags.ts';
import { parseLabels } from './label-spec.ts';
import { rememberBuildArgs } from './repeat-build.ts';
import { sourceDateEpoch } from './source-date-epoch.ts';
import type { StdinInput } from './stdin-context.ts';

function checkTags(tags: readonly string[]): void {
  for (const t of tags) {
    try {
      parseReference(t);
    } catch (e) {
      throw e instanceof UserError ? new UserError(`invalid -t ${JSON.stringify(t)}: ${e.message.replace(/^invalid image reference "[^"]*": /, '')}`) : e;
    }
  }
}

/** The flags as `build()` options, every value checked; the context and Dockerfile are filled in later (stdin). */
async function buildOptions(argv: BuildArgv): Promise<Omit<BuildOptions, 'contextDir' | 'progress'>> {
  const stdinContext = argv.context === STDIN_ARG;
  checkTags(argv.tag);
  if (argv.platform !== undefined && argv.platform.includes(',')) throw new UserError(`invalid --platform ${JSON.stringify(argv.platform)}: one platform at a time`);
  const platform = argv.platform !== undefined ? (await import('../registry/platform.ts')).parsePlatform(argv.platform) : undefined;
  const epoch = sourceDateEpoch(argv['source-date-epoch']);
  const outputSpecs = ([] as string[]).concat(argv.output ?? []);
  const outputs = outputSpecs.length > 0 ? outputSpecs.map((await import('./output-spec.ts')).parseOutputSpec) : [];
  const level = argv['compression-level'];
  const compression =
    argv.compression !== undefined || level !== undefined ? (await import('../image/compression.ts')).parseCompression(argv.compression ?? 'gzip', level) : undefined;
  if (argv.push && argv.tag.length === 0) throw new UserError('--push needs a name to push to: give -t NAME');
  if (argv.iidfile !== undefined || argv['metadata-file'] !== undefined) {
    const { checkResultPath } = await import('./result-files.ts');
    if (argv.iidfile !== undefined) checkResultPath('--iidfile', argv.iidfile);
    if (argv['metadata-file'] !== undefined) checkResultPath('--metadata-file', argv['metadata-file']);
  }
  if (!stdinContext && !existsSync(argv.context)) {
    const [{ closest }, { COMMANDS }] = await Promise.all([import('../parser/suggest.ts'), import('./commands/index.ts')]);
    const guess = closest(argv.context, Object.keys(COMMANDS));
    throw new UserError(`build context ${argv.context} does not exist`, undefined, guess ? { hint: `did you mean "tsbuild ${guess}"?` } : undefined);
  }
  if (stdinContext && argv.file === '-') throw new UserError('the context and the Dockerfile cannot both come from stdin (-)');
  if ((stdinContext || argv.file === '-') && process.stdin.isTTY) {
    throw new UserError('stdin is a terminal: pipe a Dockerfile or a context tar into "tsbuild build -"');
  }
  // the parsers of rarer flags are loaded only when those flags are given
  const buildArgs = parseBuildArgs(argv['build-arg']);
  const secretSpecs = argv.secret.length + argv.ssh.length > 0 ? await import('./secret-spec.ts') : undefined;
  const secrets = secretSpecs?.parseSecrets(argv.secret) ?? new Map<string, SecretSource>();
  const ssh = secretSpecs?.parseSsh(argv.ssh) ?? new Map<string, string>();
  const labels = parseLabels(argv.label);
  const contexts = argv['build-context'];
  const buildContexts = contexts.length > 0 ? (await import('./build-context-spec.ts')).parseBuildContexts(contexts) : new Map<string, NamedContext>();
  return {
    root: argv.root,
    tags: argv.tag,
    buildArgs,
    ...(argv.target !== undefined && { target: argv.target }),
    noCache: argv['no-cache'],
    noCacheFilter: argv['no-cache-filter'],
    cacheFrom: argv['cache-from'],
    cacheTo: argv['cache-to'],
    explain: argv.explain,
    ...(argv['cache-mounts-dir'] !== undefined && { cacheMountsDir: argv['cache-mounts-dir'] }),
    outputs,
    ...(compression && { compression }),
    ...(epoch !== undefined && { sourceDateEpoch: epoch }),
    ...(platform && { platform }),
    secrets,
    ssh,
    labels,
    pull: argv.pull,
    network: argv.network,
    buildContexts,
    push: argv.push,
  };
}

/**
 * `tsbuild build`: see the module comment. A build the memo answered, or
 * one that left a memo, has its command line remembered for the next time
 * (repeat-build.ts), unless it is that next time (`repeated`).
 */
export async function runBuild(argv: BuildArgv, opts: { repeated?: boolean } = {}): Promise<void> {
  const stdinContext = argv.context === STDIN_ARG;
  const options = await buildOptions(argv);
  const renderer = await createRenderer(argv.quiet ? 'quiet' : argv.progress);
  if (argv.progress === 'json' && !argv.quiet) reportSettings.json = renderer.sink;

  let stdin: StdinInput | undefined;
  let abort: (() => Promise<void>) | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    renderer.sink({ type: 'warning', message: `${signal}: stopping the build (again to quit at once)` });
    void abort?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: BuildResult;
  try {
    if (stdinContext) stdin = await (await import('./stdin-context.ts')).contextFromStdin(process.stdin, argv.root, argv.file);
    else if (argv.file === '-') stdin = await (await import('./stdin-context.ts')).dockerfileFromStdin(process.stdin, argv.root);
    const contextDir = stdinContext ? (stdin as StdinInput).path : argv.context;
    const dockerfile = stdinContext ? stdin?.dockerfile : argv.file === '-' ? stdin?.path : argv.file;
    reportSettings.baseDir = resolve(contextDir);
    if (dockerfile !== undefined) reportSettings.sources.set(dockerfile, resolve(dockerfile));
    result = await build({
      ...options,
      contextDir,
      ...(dockerfile !== undefined && { dockerfile }),
      progress: renderer.sink,
      onAbortable: (fn) => {
        abort = fn;
        if (interrupted) void fn();
      },
    });
  } catch (e) {
    renderer.finish({ failed: true });
    if (interrupted) {
      process.stderr.write('error: build interrupted\n');
      process.exit(EXIT_INTERRUPTED);
    }
    if (stdin && e instanceof UserError && e.location) {
      const path = reportSettings.sources.get(e.location.file) ?? resolve(reportSettings.baseDir ?? '.', e.location.file);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text !== undefined) reportSettings.texts.set(e.location.file, text);
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stdin?.cleanup();
  }
  renderer.finish({ failed: false });
  if ((result.replayed || result.memoized) && !opts.repeated) {
    const { looksSecret } = await import('../planner/args.ts');
    // a secret-looking build arg's value is kept out of the record, as out of the image history
    if (![...options.buildArgs.keys()].some(looksSecret)) await rememberBuildArgs(process.argv.slice(2), argv);
  }
  if (argv.iidfile !== undefined) await (await import('./result-files.ts')).writeIidFile(argv.iidfile, result);
  if (argv['metadata-file'] !== undefined) await (await import('./result-files.ts')).writeMetadataFile(argv['metadata-file'], result);
  // With an output on stdout, the digest must not end up inside the tar.
  (options.outputs.some((o) => o.dest === '-') ? process.stderr : process.stdout).write(`${result.manifest.digest}\n`);
}

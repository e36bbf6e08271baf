/**
 * Build command lines remembered with the flags yargs parsed from them, so
 * that typing the same one again skips the parsing: on a rebuild the build
 * memo answers (build/build-memo.ts), setting up yargs and parsing was a
 * third of the time.
 *
 * After a build that left a memo or was answered by one, `<root>/cache/memo/argv/<key>.json` holds the parsed
 * flags, the key being the sha256 of everything the parse depends on: the
 * arguments, the working directory, the environment variables that flag
 * defaults read (PARSE_ENV), the user id and the tsbuild build itself (its
 * entry file's size and mtime). Values read from the environment after the
 * parse (`--build-arg NAME`, `$SOURCE_DATE_EPOCH`, `$SSH_AUTH_SOCK`) are
 * read again by `runBuild` on every run. The next run
 * of that exact command line hands them to `runBuild` as they are; the
 * build still checks every value, and still asks the build memo, which
 * decides whether anything runs. A different command line, environment or
 * tsbuild simply finds no record. `tsbuild prune` drops records written
 * more than 30 days ago (cache/gc.ts): a command line with a new tag or build
 * arg each time leaves a record each time.
 *
 * The root is found without the parser: the last `--root` value, else
 * `$TSBUILD_ROOT`, else the default. Should that read a command line wrong
 * (a `--root` that is the value of another flag), the record is written
 * under the root the parser found and looked up under another, so it is
 * never found: the slow path, never a wrong one.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildArgv } from './commands/build.ts';
import { defaultRoot } from './root.ts';

const VERSION = 1;

/** The environment variables flag defaults are computed from (root.ts, flags.ts). */
const PARSE_ENV = ['TSBUILD_ROOT', 'XDG_DATA_HOME', 'HOME', 'TSBUILD_PROGRESS'];

interface ArgvRecord {
  version: number;
  argv: BuildArgv;
}

/** Runs the build of a remembered command line; false (having done nothing) when `args` is not one. */
export async function repeatBuild(args: readonly string[]): Promise<boolean> {
  const root = rootOf(args);
  // every other command pays this one check only (not even node:crypto's loading) until some build was repeated
  if (root === undefined || !existsSync(recordsDir(root))) return false;
  let record: ArgvRecord;
  try {
    record = JSON.parse(readFileSync(await recordFile(root, args), 'utf8')) as ArgvRecord;
  } catch {
    return false;
  }
  if (record.version !== VERSION) return false;
  await (await import('./build-command.ts')).runBuild(record.argv, { repeated: true });
  return true;
}

/** Remembers the flags `args` parsed to, after a build that left a memo or was answered by one. */
export async function rememberBuildArgs(args: readonly string[], argv: BuildArgv): Promise<void> {
  const record: ArgvRecord = { version: VERSION, argv };
  // imported here: every command's start-up loads this module, and writeFileAtomic loads node:crypto
  const { writeFileAtomic } = await import('../write-file-atomic.ts');
  await writeFileAtomic(await recordFile(argv.root, args), JSON.stringify(record));
}

function recordsDir(root: string): string {
  return join(root, 'cache', 'memo', 'argv');
}

async function recordFile(root: string, args: readonly string[]): Promise<string> {
  const { createHash } = await import('node:crypto');
  const entry = statSync(fileURLToPath(import.meta.url));
  const env = PARSE_ENV.map((name) => process.env[name] ?? null);
  const key = createHash('sha256')
    .update(JSON.stringify({ version: VERSION, args, cwd: process.cwd(), env, uid: process.getuid?.() ?? null, tsbuild: [entry.size, entry.mtimeMs] }))
    .digest('hex');
  return join(recordsDir(root), `${key.slice(0, 32)}.json`);
}

/** The root `args` name (see the module comment); undefined when a `--root` has no value. */
function rootOf(args: readonly string[]): string | undefined {
  let root: string | undefined = defaultRoot();
  args.forEach((a, i) => {
    if (a === '--root') root = args[i + 1];
    else if (a.startsWith('--root=')) root = a.slice('--root='.length);
  });
  return root === '' ? undefined : root;
}

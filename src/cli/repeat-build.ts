/**
 * Build command lines remembered with the flags yargs parsed from them, so
 * that typing the same one again skips the parsing: on a rebuild the build
 * memo answers (build/build-memo.ts), setting up yargs and parsing was a
 * third of the time.
 *
 * After a build that left a memo or was answered by one, a record under
 * `<root>/cache/memo/argv/` holds the parsed flags and their key:
 * everything the parse depends on, i.e. the arguments, the working
 * directory, the environment variables that flag defaults read
 * (PARSE_ENV), the user id and the tsbuild build itself (its entry file's
 * size and mtime). The record is named by a hash of the key (name-hash.ts)
 * and holds the key itself, which a lookup compares. The next run of that
 * command line hands the flags to `runBuild` as they are; the build still
 * checks every value, and still asks the build memo, which decides whether
 * anything runs. A different command line, environment or tsbuild simply
 * finds no record. Values read from the environment after the parse
 * (`--build-arg NAME`, `$SOURCE_DATE_EPOCH`, `$SSH_AUTH_SOCK`) are read
 * again by `runBuild` on every run.
 *
 * The values of `--build-arg NAME=VALUE` are left out of the key: a CI that
 * passes its commit as a build arg changes nothing else from one build to
 * the next. The command line is found with its values masked, and the
 * record's `--build-arg` list is replaced by the one the arguments spell
 * (buildArgWords, which reads them as the parser does: each `--build-arg`
 * takes the next word). A command line that this reading would get wrong
 * (the parser's list differs from it) is not remembered. `tsbuild prune`
 * drops records written more than 30 days ago (cache/gc.ts): a command line
 * with a new tag each time leaves a record each time.
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
import { nameHash } from '../name-hash.ts';
import type { BuildArgv } from './commands/build.ts';
import { defaultRoot } from './root.ts';

const VERSION = 2;

/** The environment variables flag defaults are computed from (root.ts, flags.ts). */
const PARSE_ENV = ['TSBUILD_ROOT', 'XDG_DATA_HOME', 'HOME', 'TSBUILD_PROGRESS'];

interface ArgvRecord {
  version: number;
  key: string;
  argv: BuildArgv;
}

/** Runs the build of a remembered command line; false (having done nothing) when `args` is not one. */
export async function repeatBuild(args: readonly string[]): Promise<boolean> {
  const root = rootOf(args);
  // every other command pays this one check only until some build was repeated
  if (root === undefined || !existsSync(recordsDir(root))) return false;
  const key = recordKey(args);
  let record: ArgvRecord;
  try {
    record = JSON.parse(readFileSync(recordFile(root, key), 'utf8')) as ArgvRecord;
  } catch {
    return false;
  }
  if (record.version !== VERSION || record.key !== key) return false;
  await (await import('./build-command.ts')).runBuild({ ...record.argv, 'build-arg': buildArgValues(args) }, { repeated: true });
  return true;
}

/** Remembers the flags `args` parsed to, after a build that left a memo or was answered by one. */
export async function rememberBuildArgs(args: readonly string[], argv: BuildArgv): Promise<void> {
  if (JSON.stringify(buildArgValues(args)) !== JSON.stringify(argv['build-arg'])) return;
  const key = recordKey(args);
  const record: ArgvRecord = { version: VERSION, key, argv };
  // imported here: every command's start-up loads this module, and only a build writes a record
  const { writeFileAtomic } = await import('../write-file-atomic.ts');
  await writeFileAtomic(recordFile(argv.root, key), JSON.stringify(record));
}

function recordsDir(root: string): string {
  return join(root, 'cache', 'memo', 'argv');
}

/** What the parse of `args` depends on (see the module comment). */
function recordKey(args: readonly string[]): string {
  const entry = statSync(fileURLToPath(import.meta.url));
  const env = PARSE_ENV.map((name) => process.env[name] ?? null);
  const masked = [...args];
  for (const { at, value } of buildArgWords(args)) {
    const word = args[at] as string;
    const eq = value.indexOf('=');
    // the word keeps its NAME=; a NUL, which no argument can hold, stands for the value
    if (eq > 0 && !value.startsWith('-')) masked[at] = `${word.slice(0, word.length - value.length + eq + 1)}\0`;
  }
  return JSON.stringify({ args: masked, cwd: process.cwd(), env, uid: process.getuid?.() ?? null, tsbuild: [entry.size, entry.mtimeMs] });
}

/**
 * The `--build-arg` values of `args`, in order, with the index of the word
 * holding each, read as the parser reads them: a `--build-arg` before any
 * `--` takes the next word, a `--build-arg=VALUE` holds its own.
 */
function buildArgWords(args: readonly string[]): { at: number; value: string }[] {
  const out: { at: number; value: string }[] = [];
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    const word = args[i] as string;
    if (word === '--build-arg' && i + 1 < args.length) {
      i++;
      out.push({ at: i, value: args[i] as string });
    } else if (word.startsWith('--build-arg=')) out.push({ at: i, value: word.slice('--build-arg='.length) });
  }
  return out;
}

function buildArgValues(args: readonly string[]): string[] {
  return buildArgWords(args).map((w) => w.value);
}

function recordFile(root: string, key: string): string {
  return join(recordsDir(root), `${nameHash(key)}.json`);
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

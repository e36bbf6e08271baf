/**
 * Flags that several commands share, defined once so that every command
 * spells, documents and checks them the same way. Values are checked with
 * `coerce`, so a bad one fails before the command does anything, as a
 * one-line UserError naming the flag and what it accepts.
 */
import { lstatSync } from 'node:fs';
import { UserError } from '../errors.ts';
import { closest } from '../parser/suggest.ts';
import { PROGRESS_MODES, type ProgressMode } from '../progress/modes.ts';
import { defaultRoot } from './root.ts';

/**
 * A coerce function accepting only `allowed` (with a "did you mean" for a
 * near miss, in the message: yargs keeps only the message of what coerce
 * throws).
 */
export function oneOf<T extends string>(flag: string, allowed: readonly T[]): (value: unknown) => T {
  return (value) => {
    const v = single(flag)(value);
    if ((allowed as readonly string[]).includes(v)) return v as T;
    const guess = closest(v, allowed);
    throw new UserError(`invalid ${flag} ${JSON.stringify(v)}: expected ${orList(allowed)}${guess ? ` (did you mean ${guess}?)` : ''}`);
  };
}

/** A coerce function for a flag that takes one value: given twice, it is an error rather than an array. */
export function single(flag: string): (value: unknown) => string {
  return (value) => {
    if (Array.isArray(value)) throw new UserError(`${flag} is given ${value.length} times; it takes one value`);
    return String(value);
  };
}

/** A coerce function for a boolean flag: given more than once, the last one counts (values other than true/false are refused in main.ts). */
export function bool(value: unknown): boolean {
  return Array.isArray(value) ? value.at(-1) === true : value === true;
}

/** A coerce function for a flag that takes a whole number. */
export function wholeNumber(flag: string): (value: unknown) => number {
  return (value) => {
    const v = single(flag)(value);
    if (!/^\d+$/.test(v)) throw new UserError(`invalid ${flag} ${JSON.stringify(v)}: expected a whole number`);
    return Number(v);
  };
}

/** What main.ts passes for a `-` positional argument (stdin), which yargs would drop. */
export const STDIN_ARG = '<stdin>';

/** `a, b or c`. */
function orList(items: readonly string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** `--root DIR`: where tsbuild keeps its state; it must be a directory if it exists. */
export const rootOption = {
  type: 'string',
  default: defaultRoot(),
  defaultDescription: '$TSBUILD_ROOT, else /var/lib/tsbuild',
  describe: 'state directory: blobs, cache, image names',
  coerce: (value: unknown): string => {
    const dir = single('--root')(value);
    if (dir === '') throw new UserError('invalid --root "": give a directory');
    const st = lstatSyncOrUndefined(dir);
    if (st && !st.isDirectory() && !st.isSymbolicLink()) throw new UserError(`invalid --root ${JSON.stringify(dir)}: it is not a directory`);
    return dir;
  },
} as const;

function lstatSyncOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** `--format table|json` for commands that print a table: json is one object per line. */
export const formatOption = {
  type: 'string',
  default: 'table',
  describe: 'table, or json: one JSON object per line',
  coerce: oneOf('--format', ['table', 'json'] as const),
} as const;

/** `--progress`: how progress is shown on stderr (default $TSBUILD_PROGRESS, else auto). */
export const progressOption = {
  type: 'string',
  // an environment variable a default reads must be in repeat-build.ts PARSE_ENV
  default: process.env.TSBUILD_PROGRESS || 'auto',
  describe: 'auto (tty on a terminal, else plain), tty, plain, json (one event per line) or quiet',
  coerce: (value: unknown): ProgressMode => oneOf('--progress', PROGRESS_MODES)(value),
} as const;

/** `-q/--quiet`: no progress; stdout still gets the result. */
export const quietOption = {
  alias: 'q',
  type: 'boolean',
  default: false,
  describe: 'print only the image digest (no progress)',
  coerce: bool,
} as const;

/** A repeatable string flag (`-t a -t b`). */
export function repeatable(describe: string) {
  return { type: 'string', array: true, nargs: 1, default: [] as string[], describe } as const;
}

/** `--insecure-registry HOST` (repeatable): plain HTTP to that registry. */
export const insecureRegistryOption = repeatable('speak plain HTTP to this registry (repeatable; loopback ones always are)');

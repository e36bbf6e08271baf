/**
 * How a failed command ends: what it prints and its exit code.
 *
 * | exit | when |
 * |---|---|
 * | 0 | success |
 * | 1 | a user error: bad flag, bad Dockerfile, missing COPY source, failing RUN, unreachable registry… |
 * | 2 | an internal error: a bug in tsbuild |
 * | 130 | interrupted (Ctrl-C, SIGTERM) |
 *
 * A user error prints one `error: FILE:LINE:COL: message` line (the
 * location when there is one). When the error points into a file and
 * carries no excerpt of its own, the lines around the location are shown
 * first, as BuildKit does (`Dockerfile:3`, the lines with `>>>` at the
 * culprit). Its own excerpt (a caret under the culprit) and its hint follow
 * the error line. No stack trace unless `--debug`. In json progress mode the
 * error is a json `error` event instead.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UserError, type SourceLocation } from '../errors.ts';
import type { ProgressSink } from '../progress/events.ts';

export const EXIT_USER = 1;
export const EXIT_INTERNAL = 2;
export const EXIT_INTERRUPTED = 130;

/** What the command running now told the reporter. Module state: one command runs per process. */
export const reportSettings: {
  /** Where the files that locations name live, by the name they carry (`Dockerfile` → its path). */
  sources: Map<string, string>;
  /** The text of files that are gone by the time the error is reported (a Dockerfile read from stdin). */
  texts: Map<string, string>;
  /** Directory that other relative names are resolved against (the build context). */
  baseDir?: string;
  /** Set in json progress mode: the error goes there as an event. */
  json?: ProgressSink;
} = { sources: new Map(), texts: new Map() };

/** Lines around a location shown before the error line. */
const AROUND = 2;

/** Prints `error` as above and returns the exit code. */
export function reportError(error: unknown, opts: { debug: boolean; write: (text: string) => void }): number {
  const user = error instanceof UserError ? error : undefined;
  const code = user ? EXIT_USER : EXIT_INTERNAL;
  const message = user ? user.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
  const hint = user ? user.detail?.hint : 'this is a bug in tsbuild; please report it with the output of the same command run with --debug';
  if (reportSettings.json) {
    reportSettings.json({
      type: 'error',
      message,
      ...(user?.location && { location: user.location }),
      ...(hint !== undefined && { hint }),
      exitCode: code,
    });
    if (opts.debug && error instanceof Error && error.stack) opts.write(`${error.stack}\n`);
    return code;
  }
  const lines: string[] = [];
  const explained = user ? user.explain() : [];
  if (user?.location && explained.length === 0) lines.push(...excerpt(user.location));
  lines.push(`error: ${user ? user.format() : message}`);
  lines.push(...explained);
  if (!user) lines.push(`hint: ${hint}`);
  if (opts.debug && error instanceof Error && error.stack) lines.push(error.stack);
  opts.write(lines.map((l) => `${l}\n`).join(''));
  return code;
}

/**
 * BuildKit's excerpt of the file a location points into; none when the file
 * cannot be read.
 *
 * ```
 * Dockerfile:3
 * --------------------
 *    1 |     FROM busybox
 *    2 |     RUN echo before
 *    3 | >>> RUN exit 3
 * --------------------
 * ```
 */
export function excerpt(at: SourceLocation): string[] {
  const path = reportSettings.sources.get(at.file) ?? (isAbsolute(at.file) ? at.file : resolve(reportSettings.baseDir ?? '.', at.file));
  let text = reportSettings.texts.get(at.file);
  try {
    text ??= readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const all = text.split(/\r?\n/);
  if (at.line < 1 || at.line > all.length) return [];
  const first = Math.max(1, at.line - AROUND);
  const last = Math.min(all.length, at.line + AROUND);
  const gutter = String(last).length;
  const shown: string[] = [];
  for (let n = first; n <= last; n++) {
    const content = all[n - 1] ?? '';
    if (n === last && n !== at.line && content === '') break;
    shown.push(`  ${String(n).padStart(gutter)} | ${n === at.line ? '>>>' : '   '} ${content}`.trimEnd());
  }
  const ruler = '-'.repeat(20);
  return [`${at.file}:${at.line}`, ruler, ...shown, ruler];
}

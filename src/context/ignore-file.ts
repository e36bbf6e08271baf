/**
 * Finding and reading a build's ignore file, as BuildKit does.
 *
 * The ignore file is `<Dockerfile>.dockerignore` next to the Dockerfile (e.g.
 * `build/app.Dockerfile.dockerignore` for `-f build/app.Dockerfile`) when it
 * exists, otherwise `.dockerignore` at the context root; the two are never
 * merged.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { UserError } from '../errors.ts';
import { goClean, goTrimSpace } from './go-path.ts';
import { BadPatternError, PatternMatcher, type Pattern } from './pattern-matcher.ts';

/** One pattern of an ignore file and the line it came from. */
export interface IgnoreLine {
  pattern: string;
  /** 1-based. */
  line: number;
}

/** The ignore file a build uses, compiled. */
export interface IgnoreRules {
  /** Absolute path of the file. */
  path: string;
  /** How messages name it: relative to the context when inside it (`.dockerignore`), else absolute. */
  displayName: string;
  lines: readonly IgnoreLine[];
  matcher: PatternMatcher;
}

/**
 * Reads an ignore file's text into patterns (BuildKit's `ignorefile.ReadAll`):
 * a UTF-8 BOM on line 1 is dropped; a line whose first character is `#` is a
 * comment (checked before trimming, so ` #x` is a pattern); lines are
 * trimmed and blank ones skipped; after a leading `!` the rest is trimmed
 * again; the pattern is cleaned as a Go path and one leading `/` removed. A
 * bare `!` is kept (compiling it is the error).
 */
export function parseIgnoreFile(text: string): IgnoreLine[] {
  const out: IgnoreLine[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (i === 0 && line.startsWith('\ufeff')) line = line.slice(1);
    if (line.startsWith('#')) return;
    let pattern = goTrimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern !== '') {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push({ pattern: invert ? `!${pattern}` : pattern, line: i + 1 });
  });
  return out;
}

/**
 * Loads the ignore file for a build: `<dockerfile>.dockerignore`, else
 * `<contextDir>/.dockerignore`; undefined when neither exists. A bad pattern
 * is a UserError naming the file and line.
 */
export function loadIgnoreRules(contextDir: string, dockerfile?: string): IgnoreRules | undefined {
  const candidates = [
    ...(dockerfile !== undefined ? [join(dirname(dockerfile), `${basename(dockerfile)}.dockerignore`)] : []),
    join(contextDir, '.dockerignore'),
  ];
  for (const path of candidates) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new UserError(`cannot read ignore file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const rel = relative(contextDir, path);
    const displayName = rel.startsWith('..') || rel === '' ? path : rel;
    return compileIgnoreLines(parseIgnoreFile(text), path, displayName);
  }
  return undefined;
}

/** Compiles parsed lines; a bad pattern is a UserError at `displayName:line`. */
export function compileIgnoreLines(lines: readonly IgnoreLine[], path: string, displayName: string): IgnoreRules {
  try {
    return { path, displayName, lines, matcher: new PatternMatcher(lines.map((l) => l.pattern)) };
  } catch (e) {
    throw e instanceof BadPatternError ? badPattern({ displayName, lines }, e) : e;
  }
}

/** The UserError for a pattern that cannot be compiled or used: names its file and line. */
export function badPattern(rules: Pick<IgnoreRules, 'displayName' | 'lines'>, e: BadPatternError): UserError {
  const at = (e as BadPatternError & { index?: number }).index;
  const line = at === undefined ? undefined : rules.lines[at];
  if (!line) return new UserError(`${rules.displayName}: ${e.message}`);
  return new UserError(`bad pattern ${JSON.stringify(line.pattern)}: ${e.message}`, { file: rules.displayName, line: line.line, column: 1 });
}

/** `file:line: pattern`, naming where a pattern came from. */
export function describePattern(rules: IgnoreRules, pattern: Pattern): string {
  const line = rules.lines[pattern.index];
  return `${rules.displayName}:${line?.line ?? '?'}: ${line?.pattern ?? pattern.text}`;
}

import { lstatSync, readdirSync } from 'node:fs';
import { posix } from 'node:path';
import type { SelectedPath } from '../context/select.ts';
import { BadPatternError, PatternMatcher } from '../context/pattern-matcher.ts';
import { UserError, type SourceLocation } from '../errors.ts';

/** Every path below `dir`, relative to it, each directory before its content. */
function listTree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(posix.join(dir, prefix)).sort()) {
    const rel = prefix === '' ? name : `${prefix}/${name}`;
    out.push(rel);
    if (lstatSync(posix.join(dir, rel)).isDirectory()) out.push(...listTree(dir, rel));
  }
  return out;
}

/**
 * `COPY --exclude=PATTERN`: drops from a selection every path the patterns
 * match (`.dockerignore` syntax, `**` included), matched relative to the
 * copied source — a directory's entries relative to it, a file by its name.
 */
export function applyExcludes(srcRoot: string, selection: readonly SelectedPath[], patterns: readonly string[], where: SourceLocation): SelectedPath[] {
  let matcher: PatternMatcher;
  try {
    matcher = new PatternMatcher(patterns);
  } catch (e) {
    if (e instanceof BadPatternError) throw new UserError(`invalid --exclude pattern: ${e.message}`, where);
    throw e;
  }
  const out: SelectedPath[] = [];
  for (const sel of selection) {
    if (!sel.isDir) {
      if (!matcher.matchesOrParentMatches(posix.basename(sel.rel))) out.push(sel);
      continue;
    }
    const entries = sel.entries ?? listTree(posix.join(srcRoot, sel.rel));
    out.push({ ...sel, entries: entries.filter((e) => !matcher.matchesOrParentMatches(e)) });
  }
  return out;
}

/**
 * `COPY --parents`: where each selected path goes below `dest`, keeping its
 * parent directories. A `./` in the source pattern marks the pivot: only
 * what follows it is kept (`COPY --parents ./src/./app/x /dst/` → `/dst/app/x`).
 */
export function parentsDestination(dest: string, source: string, sel: SelectedPath): string {
  const clean = source.replace(/^\/+/, '');
  const pivot = clean.lastIndexOf('/./');
  const dropped = pivot >= 0 ? posix.normalize(clean.slice(0, pivot)) : '';
  const rel = dropped !== '' && dropped !== '.' && sel.rel.startsWith(`${dropped}/`) ? sel.rel.slice(dropped.length + 1) : sel.rel;
  const base = dest.endsWith('/') ? dest : `${dest}/`;
  return sel.isDir ? `${posix.join(base, rel)}/` : `${posix.join(base, posix.dirname(rel))}/`;
}

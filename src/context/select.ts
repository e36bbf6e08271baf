/**
 * Resolving COPY/ADD source paths, with BuildKit's wildcard rules, in the
 * build context or in another stage's root filesystem.
 *
 * - A source is cleaned like a Go path. Without wildcards it names one path.
 *   With wildcards (`*`, `?`, `[...]` in some component), the components
 *   before the first wildcard name a directory, and every path below it
 *   whose relative path matches the rest (Go `filepath.Match`) is selected,
 *   in walk order; a matching directory is selected whole, not searched.
 * - Symlinks among the leading directories are followed, but inside the
 *   root: an absolute target starts at the root and `..` stops there, so no
 *   source resolves outside it. The selected path itself is never followed:
 *   a symlink is copied as a link, and a walk never enters one.
 * - In the build context, only what is in the context counts (see
 *   ContextTree): an ignored path is "not found", as in BuildKit. A source
 *   that is absolute or climbs out with `..` is refused: BuildKit silently
 *   reads such paths from the context root instead, which hides mistakes
 *   like `COPY ../shared/x .`. In another stage's filesystem, absolute paths
 *   are the norm and `..` stops at `/`.
 */
import { UserError, type SourceLocation } from '../errors.ts';
import { BadPatternError, goMatch, hasWildcards } from './go-match.ts';
import { goClean } from './go-path.ts';
import { describePattern } from './ignore-file.ts';
import { ContextTree, joinRel, type ContextEntry } from './tree.ts';

/** One path a COPY/ADD source selected. */
export interface SelectedPath {
  /** Relative to the root, `/`-separated, leading directories resolved; `.` is the root itself. */
  rel: string;
  isDir: boolean;
  /** The name the copy gets when it differs from `rel`'s: a symlink named as a source is followed and keeps its own name. */
  name?: string;
  /**
   * For a directory in the build context: the paths below it that are in the
   * context, relative to `rel`, each directory before its content; only these
   * are copied. Undefined: everything below it (another stage's filesystem).
   */
  entries?: readonly string[];
}

/** A selection from the build context, with the stat data its digest is made from. */
export interface ContextSelection {
  paths: SelectedPath[];
  /** Per selected path: its own entry first, then (for a directory) the entries below it. */
  entries: Map<SelectedPath, ContextEntry[]>;
}

const MAX_LINKS = 255;

/**
 * Resolves COPY/ADD sources in another stage's root filesystem (`root`, a
 * host directory): absolute paths start at `root`, `..` stops there, and
 * symlinks in leading directories resolve inside it. A source that selects
 * nothing is an error naming it.
 */
export async function selectSources(root: string, sources: readonly string[], where: SourceLocation): Promise<SelectedPath[]> {
  const tree = new ContextTree(root);
  const out: SelectedPath[] = [];
  for (const source of sources) {
    const clean = goClean(`/${source}`).slice(1) || '.';
    const found = resolveSource(tree, source, clean, where);
    if (found.length === 0) throw notFound(source, where);
    out.push(...found.map(({ entry: e, name }) => ({ rel: e.rel, isDir: e.kind === 'dir', ...(name !== undefined && { name }) })));
  }
  return out;
}

/**
 * Resolves COPY/ADD sources in the build context `tree` (see the module
 * comment). Each directory selected carries the list of its entries that are
 * in the context.
 */
export function selectInContext(tree: ContextTree, sources: readonly string[], where: SourceLocation): ContextSelection {
  const selection: ContextSelection = { paths: [], entries: new Map() };
  for (const source of sources) {
    const clean = goClean(source);
    if (source.startsWith('/') || clean === '..' || clean.startsWith('../')) {
      throw new UserError(
        `COPY failed: ${source} is outside the build context: sources are paths inside the context directory (tsbuild refuses ".." and absolute paths instead of reading them from the context root)`,
        where,
      );
    }
    const found = resolveSource(tree, source, clean, where);
    if (found.length === 0) throw notFound(source, where, whyMissing(tree, clean));
    for (const { entry, name } of found) {
      const isDir = entry.kind === 'dir';
      const below = isDir ? tree.below(entry.rel) : [];
      const strip = entry.rel === '.' ? 0 : entry.rel.length + 1;
      const path: SelectedPath = {
        rel: entry.rel,
        isDir,
        ...(name !== undefined && { name }),
        ...(isDir && { entries: below.map((e) => e.rel.slice(strip)) }),
      };
      selection.paths.push(path);
      selection.entries.set(path, [entry].concat(below));
    }
  }
  return selection;
}

/** The entries a cleaned source selects (in the context only), in order. */
function resolveSource(tree: ContextTree, source: string, clean: string, where: SourceLocation): { entry: ContextEntry; name?: string }[] {
  const parts = clean === '.' ? [] : clean.split('/');
  const firstWild = parts.findIndex(hasWildcards);
  if (firstWild < 0) {
    const name = parts.pop();
    const dir = resolveDir(tree, parts, source, where);
    if (dir === undefined) return [];
    const rel = name === undefined ? dir : joinRel(dir, name);
    const entry = tree.entry(rel);
    if (!entry || !tree.contains(rel, entry.kind === 'dir')) return [];
    if (entry.kind !== 'symlink' || name === undefined) return [{ entry }];
    // a source that names a symlink is followed inside the tree, as BuildKit does, and the copy keeps the
    // link's name; a link leading out of the tree (where BuildKit fails) is copied as the link itself
    const target = followLink(tree, dir, entry, source, where);
    return target ? [{ entry: target, name }] : [{ entry }];
  }
  const pattern = parts.slice(firstWild).join('/');
  try {
    goMatch(pattern, '');
  } catch (e) {
    if (e instanceof BadPatternError) throw new UserError(`COPY failed: bad wildcard pattern in ${source}: ${e.message}`, where);
    throw e;
  }
  const base = resolveDir(tree, parts.slice(0, firstWild), source, where);
  if (base === undefined) return [];
  // `*` and `?` never match `/`, so a match is at most this deep
  const maxDepth = [...pattern].filter((c) => c === '/' || c === '[').length + 1;
  const found: { entry: ContextEntry }[] = [];
  tree.scan(base, (fromBase, rel, isDir) => {
    if (goMatch(pattern, fromBase)) {
      const entry = tree.contains(rel, isDir) ? tree.entry(rel) : undefined;
      if (entry) found.push({ entry });
      return false;
    }
    return fromBase.split('/').length < maxDepth;
  });
  return found;
}

/** Where a symlink in `dir` leads, inside the tree (absolute targets start at its root): the final entry, or undefined. */
function followLink(tree: ContextTree, dir: string, link: ContextEntry, source: string, where: SourceLocation): ContextEntry | undefined {
  let entry = link;
  let base = dir;
  for (let links = 0; entry.kind === 'symlink'; links++) {
    if (links > MAX_LINKS) throw new UserError(`COPY failed: too many levels of symbolic links in ${source}`, where);
    const target = entry.target as string;
    const parts = [...(target.startsWith('/') ? [] : base === '.' ? [] : base.split('/')), ...target.split('/')].filter((p) => p !== '' && p !== '.');
    const name = parts.pop();
    if (name === undefined || name === '..') return undefined;
    const parent = resolveDir(tree, parts, source, where);
    if (parent === undefined) return undefined;
    const rel = joinRel(parent, name);
    const next = tree.entry(rel);
    if (!next || !tree.contains(rel, next.kind === 'dir')) return undefined;
    entry = next;
    base = parent;
  }
  return entry;
}

/**
 * Follows directory components inside the tree, resolving symlinks as if
 * the tree were `/`; each step must be in the context. Returns the real
 * relative path, or undefined when some component is missing, not a
 * directory, or not in the context.
 */
function resolveDir(tree: ContextTree, parts: readonly string[], source: string, where: SourceLocation): string | undefined {
  const pending = [...parts];
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const rel = joinRel(done.length > 0 ? done.join('/') : '.', part);
    const entry = tree.entry(rel);
    if (!entry) return undefined;
    if (entry.kind === 'symlink') {
      if (tree.status(rel, false).state !== 'included') return undefined;
      if (++links > MAX_LINKS) throw new UserError(`COPY failed: too many levels of symbolic links in ${source}`, where);
      const target = entry.target as string;
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/'));
      continue;
    }
    if (entry.kind !== 'dir' || !tree.enters(rel)) return undefined;
    done.push(part);
  }
  return done.length > 0 ? done.join('/') : '.';
}

/** For a literal source that exists but is ignored: which pattern hides it. */
function whyMissing(tree: ContextTree, clean: string): string | undefined {
  if (!tree.ignore || hasWildcards(clean)) return undefined;
  const entry = tree.entry(clean);
  if (!entry) return undefined;
  let dir = '.';
  for (const part of clean.split('/').slice(0, -1)) {
    dir = joinRel(dir, part);
    const e = tree.entry(dir);
    if (!e || e.kind !== 'dir') return undefined;
  }
  const s = tree.status(clean, entry.kind === 'dir');
  if (s.state === 'included') return undefined;
  const by = describePattern(tree.ignore, s.decidedBy);
  return s.state === 'hidden' ? `its directory ${s.dir} is excluded by ${by}` : `excluded by ${by}`;
}

function notFound(source: string, where: SourceLocation, why?: string): UserError {
  return new UserError(`COPY failed: file not found in build context: ${source}${why ? ` (${why})` : ''}`, where);
}

/**
 * `.dockerignore` pattern matching with BuildKit's semantics (moby/patternmatcher
 * v0.6.1, the version BuildKit vendors), checked row by row against the
 * upstream tables in `fixtures/dockerignore/`.
 *
 *   const m = new PatternMatcher(['docs', '!docs/README.md']);
 *   m.matchesOrParentMatches('docs/a.md');        // true: excluded
 *   m.matchesOrParentMatches('docs/README.md');   // false: re-included
 *
 * Each pattern is trimmed, skipped when empty, cleaned like a Go path
 * (`docs/` → `docs`, `a/../b` → `b`); a leading `!` makes it an exception.
 * Patterns are tried in order and the last one that hits decides; a pattern
 * hits a path when it matches the path or one of its parent directories.
 * `*`, `?` and `[...]` never cross `/`; `**` spans any number of directories,
 * including none; `\` escapes the next character.
 */
import { BadPatternError, goMatch } from './go-match.ts';
import { goClean, goTrimSpace } from './go-path.ts';
import { compileGoRegexp } from './go-regexp.ts';

export { BadPatternError } from './go-match.ts';

/** How a pattern is tested: patternmatcher's fast paths, or a regexp. */
export type MatchType = 'exactMatch' | 'prefixMatch' | 'suffixMatch' | 'regexpMatch';

// characters patternmatcher escapes because they mean something to a regexp but not to filepath.Match
const REGEXP_LITERALS = '.+()|{}$';

/** One compiled pattern. `index` is its position among the matcher's patterns (empty lines dropped). */
export class Pattern {
  readonly matchType: MatchType;
  /** For regexpMatch: the Go regexp patternmatcher builds (what `compile.tsv` lists). */
  readonly goRegexp: string | undefined;
  private readonly regexp: RegExp | undefined;
  /** For regexpMatch: the literal text every match ends with (what follows the last wildcard), checked before the regexp. */
  private readonly suffix: string;
  private readonly compileError: BadPatternError | undefined;

  constructor(
    /** The pattern after trimming and cleaning, without its `!`. */
    readonly cleaned: string,
    readonly exclusion: boolean,
    readonly index: number,
  ) {
    const { matchType, goRegexp } = compilePattern(cleaned);
    this.matchType = matchType;
    this.goRegexp = goRegexp;
    this.suffix = literalSuffix(cleaned);
    if (goRegexp !== undefined) {
      try {
        this.regexp = compileGoRegexp(goRegexp);
      } catch (e) {
        if (!(e instanceof BadPatternError)) throw e;
        // patternmatcher accepts such a pattern and fails each time it is used (moby/moby#52203)
        this.compileError = withIndex(new BadPatternError(cleaned, `syntax error in pattern: ${e.message}`), index);
      }
    }
  }

  /** The pattern as written in the ignore file's canonical form: `!` included. */
  get text(): string {
    return this.exclusion ? `!${this.cleaned}` : this.cleaned;
  }

  /** Whether the pattern matches this exact path (no parent logic). Throws BadPatternError for a pattern whose regexp is invalid. */
  match(path: string): boolean {
    switch (this.matchType) {
      case 'exactMatch':
        return path === this.cleaned;
      case 'prefixMatch':
        return path.startsWith(this.cleaned.slice(0, -2));
      case 'suffixMatch': {
        const suffix = this.cleaned.slice(2);
        return path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
      }
      case 'regexpMatch':
        if (this.compileError) throw this.compileError;
        return path.endsWith(this.suffix) && (this.regexp as RegExp).test(path);
    }
  }
}

/**
 * patternmatcher's compile step: which fast path a cleaned pattern takes, and
 * the Go regexp it becomes otherwise (separator `/`).
 */
export function compilePattern(cleaned: string): { matchType: MatchType; goRegexp?: string } {
  const chars = Array.from(cleaned);
  // Go's text/scanner drops a byte order mark at the very start
  let at = chars[0] === '\ufeff' ? 1 : 0;
  let re = '^';
  let type: MatchType = 'exactMatch';
  for (let n = 0; at < chars.length; n++) {
    const c = chars[at++] as string;
    if (c === '*') {
      if (chars[at] === '*') {
        at++;
        if (chars[at] === '/') at++;
        if (at >= chars.length) {
          // a trailing `**` matches everything below
          if (type === 'exactMatch') type = 'prefixMatch';
          else {
            re += '.*';
            type = 'regexpMatch';
          }
        } else {
          re += '(.*/)?';
          type = 'regexpMatch';
        }
        if (n === 0) type = 'suffixMatch';
      } else {
        re += '[^/]*';
        type = 'regexpMatch';
      }
    } else if (c === '?') {
      re += '[^/]';
      type = 'regexpMatch';
    } else if (REGEXP_LITERALS.includes(c)) {
      re += `\\${c}`;
    } else if (c === '\\') {
      if (at < chars.length) {
        re += `\\${chars[at++] as string}`;
        type = 'regexpMatch';
      } else re += '\\';
    } else if (c === '[' || c === ']') {
      re += c;
      type = 'regexpMatch';
    } else re += c;
  }
  return type === 'regexpMatch' ? { matchType: type, goRegexp: `${re}$` } : { matchType: type };
}

/**
 * The characters after a pattern's last wildcard, escape or `^`: compilePattern
 * turns each into a regexp that matches just that character, right before the
 * final `$`. (`^`, kept as an anchor, could match nothing.)
 */
function literalSuffix(cleaned: string): string {
  let at = cleaned.length;
  while (at > 0 && !'*?[]\\^'.includes(cleaned[at - 1] as string)) at--;
  return cleaned.slice(at);
}

/** What a directory's match results tell its children (patternmatcher's MatchInfo). */
export interface MatchInfo {
  /** Per pattern: whether it hit this path or an ancestor. */
  readonly hits: readonly boolean[];
}

export interface MatchResult {
  /** True when the path is excluded. */
  excluded: boolean;
  /** The pattern that decided (the last one that hit), if any. */
  decidedBy: Pattern | undefined;
  /** Pass to the children of this path when it is a directory. */
  info: MatchInfo;
}

/** An ordered list of `.dockerignore` patterns (patternmatcher's PatternMatcher). */
export class PatternMatcher {
  readonly patterns: readonly Pattern[];
  /** True when some pattern is an exception (`!…`). */
  readonly hasExceptions: boolean;

  /**
   * Compiles the patterns (raw lines as read from the ignore file). Throws
   * BadPatternError for a lone `!` or a pattern Go's filepath.Match rejects;
   * its `index` property names the offending entry of `raw`.
   */
  constructor(raw: readonly string[]) {
    const patterns: Pattern[] = [];
    raw.forEach((line, rawIndex) => {
      let p = goTrimSpace(line);
      if (p === '') return;
      p = goClean(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw withIndex(new BadPatternError(p, 'illegal exclusion pattern'), rawIndex);
        exclusion = true;
        p = p.slice(1);
      }
      try {
        goMatch(p, '.');
      } catch (e) {
        if (e instanceof BadPatternError) throw withIndex(e, rawIndex);
        throw e;
      }
      patterns.push(new Pattern(p, exclusion, rawIndex));
    });
    this.patterns = patterns;
    this.hasExceptions = patterns.some((p) => p.exclusion);
  }

  /**
   * True when `path` (relative, `/`-separated) is excluded: the last pattern
   * that hits the path or one of its parents decides. A pattern is only tried
   * when it could change the answer so far.
   */
  matchesOrParentMatches(path: string): boolean {
    return this.explain(path).excluded;
  }

  /** matchesOrParentMatches with the deciding pattern. */
  explain(path: string): MatchResult {
    const parents = parentPrefixes(path);
    let excluded = false;
    let decidedBy: Pattern | undefined;
    const hits = this.patterns.map(() => false);
    this.patterns.forEach((pattern, i) => {
      if (pattern.exclusion !== excluded) return;
      let hit = pattern.match(path);
      for (let j = 0; !hit && j < parents.length; j++) hit = pattern.match(parents[j] as string);
      hits[i] = hit;
      if (hit) {
        excluded = !pattern.exclusion;
        decidedBy = pattern;
      }
    });
    return { excluded, decidedBy, info: { hits } };
  }

  /**
   * The incremental form a tree walk uses (patternmatcher's
   * MatchesUsingParentResults): `parent` is the result for the path's
   * directory, whose hits carry over instead of re-testing the ancestors.
   * Without `parent` it tests the ancestors like matchesOrParentMatches.
   */
  matchesUsingParentResults(path: string, parent?: MatchInfo): MatchResult {
    if (!parent) return this.explain(path);
    let excluded = false;
    let decidedBy: Pattern | undefined;
    const hits: boolean[] = new Array<boolean>(this.patterns.length);
    for (let i = 0; i < this.patterns.length; i++) {
      const pattern = this.patterns[i] as Pattern;
      let hit = parent.hits[i] === true;
      if (!hit && pattern.exclusion === excluded) hit = pattern.match(path);
      hits[i] = hit;
      if (hit) {
        excluded = !pattern.exclusion;
        decidedBy = pattern;
      }
    }
    return { excluded, decidedBy, info: { hits } };
  }

  /** matchesUsingParentResults(path, parent).excluded without allocating: for the many files of a walk. */
  excludes(path: string, parent?: MatchInfo): boolean {
    if (!parent) return this.explain(path).excluded;
    let excluded = false;
    for (let i = 0; i < this.patterns.length; i++) {
      const pattern = this.patterns[i] as Pattern;
      if (parent.hits[i] === true || (pattern.exclusion === excluded && pattern.match(path))) excluded = !pattern.exclusion;
    }
    return excluded;
  }
}

/**
 * The directories above a path, outermost first, as patternmatcher lists
 * them: Go's `filepath.Dir`, split at `/` and re-joined prefix by prefix
 * (`a/b/c` → `a`, `a/b`; a path without `/` has none).
 */
function parentPrefixes(path: string): string[] {
  const dir = goClean(path.slice(0, path.lastIndexOf('/') + 1));
  if (dir === '.') return [];
  const parts = dir.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** A BadPatternError that names the entry of the matcher's input it came from. */
function withIndex(e: BadPatternError, index: number): BadPatternError & { index: number } {
  return Object.assign(e, { index });
}

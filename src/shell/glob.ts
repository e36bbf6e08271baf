/**
 * The tiny glob language of `${v#p}`, `${v%p}` and `${v/p/r}`: `*` matches
 * any run of characters, `?` one character, and everything else (regex
 * metacharacters included) is literal. Works on code points so that `?`
 * matches one character even outside the BMP.
 */
import { UserError } from '../errors.ts';

type GlobToken = { kind: 'literal'; ch: string } | { kind: 'one' } | { kind: 'star' };

/** A compiled pattern. Build one with `compileGlob`. */
export interface Glob {
  readonly tokens: readonly GlobToken[];
}

/**
 * Compiles a pattern as written inside `${…}` with its escapes still in it:
 * the escape char before `*`, `?` or itself makes that char literal; before
 * `}` or `/` it only stopped the substitution from ending there and is
 * dropped. Any other escape is an error.
 */
export function compileGlob(pattern: string, escapeChar: string): Glob {
  const chars = Array.from(pattern);
  const tokens: GlobToken[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (ch === '*') tokens.push({ kind: 'star' });
    else if (ch === '?') tokens.push({ kind: 'one' });
    else if (ch === escapeChar) {
      const next = chars[i + 1];
      if (next === '}' || next === '/') continue;
      if (next !== '*' && next !== '?' && next !== escapeChar) {
        throw new UserError(`invalid pattern (${pattern}) in substitution: invalid escape '${escapeChar}${next ?? ''}'`);
      }
      tokens.push({ kind: 'literal', ch: next });
      i++;
    } else tokens.push({ kind: 'literal', ch });
  }
  return { tokens };
}

/** Every end index e (ascending) such that chars[start..e) matches the whole glob. */
function matchEnds(tokens: readonly GlobToken[], chars: readonly string[], start: number): number[] {
  const closure = (states: Set<number>): Set<number> => {
    for (const s of states) {
      if (tokens[s]?.kind === 'star') states.add(s + 1);
    }
    return states;
  };
  const ends: number[] = [];
  let states = closure(new Set([0]));
  for (let i = start; ; i++) {
    if (states.has(tokens.length)) ends.push(i);
    if (i >= chars.length || states.size === 0) return ends;
    const ch = chars[i];
    const next = new Set<number>();
    for (const s of states) {
      const t = tokens[s];
      if (!t) continue;
      if (t.kind === 'star') next.add(s);
      else if (t.kind === 'one' || t.ch === ch) next.add(s + 1);
    }
    states = closure(next);
  }
}

/** `${v#p}` (shortest) and `${v##p}` (longest): drop the matching prefix, if any. */
export function removePrefix(value: string, glob: Glob, longest: boolean): string {
  const chars = Array.from(value);
  const ends = matchEnds(glob.tokens, chars, 0);
  const end = longest ? ends.at(-1) : ends[0];
  return end === undefined ? value : chars.slice(end).join('');
}

/** `${v%p}` (shortest) and `${v%%p}` (longest): drop the matching suffix, if any. */
export function removeSuffix(value: string, glob: Glob, longest: boolean): string {
  const reversed = Array.from(value).reverse();
  const ends = matchEnds([...glob.tokens].reverse(), reversed, 0);
  const end = longest ? ends.at(-1) : ends[0];
  return end === undefined ? value : reversed.slice(end).reverse().join('');
}

/** The leftmost match at or after `from`, longest at that start: [start, end). */
function leftmostMatch(glob: Glob, chars: readonly string[], from: number): [number, number] | undefined {
  for (let s = from; s <= chars.length; s++) {
    const end = matchEnds(glob.tokens, chars, s).at(-1);
    if (end !== undefined) return [s, end];
  }
  return undefined;
}

/**
 * `${v/p/r}` (first match) and `${v//p/r}` (every non-overlapping match).
 * The replacement is inserted literally. As with Go's regexp, an empty
 * match right after a previous match is not replaced again.
 */
export function replaceMatches(value: string, glob: Glob, replacement: string, all: boolean): string {
  const chars = Array.from(value);
  let out = '';
  let copied = 0;
  let search = 0;
  let replaced = false;
  while (search <= chars.length && (all || !replaced)) {
    const match = leftmostMatch(glob, chars, search);
    if (!match) break;
    const [start, end] = match;
    out += chars.slice(copied, start).join('');
    if (end > copied || start === 0) {
      out += replacement;
      replaced = true;
    }
    copied = end;
    search = end > search ? end : search + 1;
  }
  return out + chars.slice(copied).join('');
}

/**
 * Go's `path/filepath.Match` on Unix, byte for byte: the wildcard language of
 * COPY/ADD sources and the syntax check `.dockerignore` patterns go through.
 *
 * - `*` matches any run of bytes without `/`; `?` one UTF-8 character other
 *   than `/`.
 * - `[abc]`, `[a-z]`, `[^a-z]` match one character (they may match `/`); `!`
 *   is not a negation; `]` and `-` must be escaped inside a class.
 * - `\` escapes the next character.
 *
 * Like Go, it works on UTF-8 bytes (so `*` can stop inside a multi-byte
 * character), and a malformed pattern is an error even when the name fails to
 * match before the bad part is reached.
 */

/** A malformed wildcard pattern (Go's `filepath.ErrBadPattern`). */
export class BadPatternError extends Error {
  constructor(readonly pattern: string, detail = 'syntax error in pattern') {
    super(detail);
    this.name = 'BadPatternError';
  }
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const SLASH = 0x2f;
const RUNE_ERROR = 0xfffd;

/** True when the name matches the whole pattern; throws BadPatternError for a malformed pattern. */
export function goMatch(pattern: string, name: string): boolean {
  const p = Buffer.from(pattern, 'utf8');
  const s = Buffer.from(name, 'utf8');
  const bad = (): never => {
    throw new BadPatternError(pattern);
  };
  let pi = 0;
  let si = 0;
  chunks: while (pi < p.length) {
    const chunk = scanChunk(p, pi);
    pi = chunk.end;
    if (chunk.star && chunk.start === chunk.end) {
      // a trailing star matches the rest of the name unless it holds a separator
      return !s.subarray(si).includes(SLASH);
    }
    const rest = matchChunk(p, chunk.start, chunk.end, s, si, bad);
    // the last chunk must use up the name; an earlier one may leave some for the next
    if (rest >= 0 && (rest === s.length || pi < p.length)) {
      si = rest;
      continue;
    }
    if (chunk.star) {
      for (let i = si; i < s.length && s[i] !== SLASH; i++) {
        const after = matchChunk(p, chunk.start, chunk.end, s, i + 1, bad);
        if (after < 0 || (pi === p.length && after < s.length)) continue;
        si = after;
        continue chunks;
      }
    }
    // no match: the rest of the pattern must still be well-formed
    while (pi < p.length) {
      const next = scanChunk(p, pi);
      pi = next.end;
      matchChunk(p, next.start, next.end, s, s.length, bad);
    }
    return false;
  }
  return si === s.length;
}

/** True when a COPY source component uses wildcards (`*`, `?`, `[` not escaped by `\`), as BuildKit decides. */
export function hasWildcards(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/** Splits off the next chunk: leading stars, then bytes up to the next star outside a class. */
function scanChunk(p: Buffer, from: number): { star: boolean; start: number; end: number } {
  let i = from;
  while (i < p.length && p[i] === STAR) i++;
  const start = i;
  let inClass = false;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === BACKSLASH) {
      if (i + 1 < p.length) i++;
    } else if (c === OPEN) inClass = true;
    else if (c === CLOSE) inClass = false;
    else if (c === STAR && !inClass) break;
  }
  return { star: start > from, start, end: i };
}

/**
 * Matches the chunk `p[start, end)` against the front of `s[si…]`: the index
 * in `s` after the match, or -1. After a mismatch it keeps reading the chunk,
 * only to report syntax errors through `bad`.
 */
function matchChunk(p: Buffer, start: number, end: number, s: Buffer, si: number, bad: () => never): number {
  let failed = false;
  let i = start;
  while (i < end) {
    if (!failed && si >= s.length) failed = true;
    const c = p[i] as number;
    if (c === OPEN) {
      let r = -1;
      if (!failed) {
        const [rune, width] = decodeRune(s, si, s.length);
        r = rune;
        si += width;
      }
      i++;
      const negated = i < end && p[i] === CARET;
      if (negated) i++;
      let hit = false;
      for (let ranges = 0; ; ranges++) {
        if (i < end && p[i] === CLOSE && ranges > 0) {
          i++;
          break;
        }
        const lo = classChar(p, i, end, bad);
        let hi = lo;
        i = lo.next;
        if (p[i] === DASH) {
          hi = classChar(p, i + 1, end, bad);
          i = hi.next;
        }
        if (lo.rune <= r && r <= hi.rune) hit = true;
      }
      if (hit === negated) failed = true;
    } else if (c === QUESTION) {
      if (!failed) {
        if (s[si] === SLASH) failed = true;
        si += decodeRune(s, si, s.length)[1];
      }
      i++;
    } else {
      if (c === BACKSLASH) {
        i++;
        if (i >= end) bad();
      }
      if (!failed) {
        if (p[i] !== s[si]) failed = true;
        si++;
      }
      i++;
    }
  }
  return failed ? -1 : si;
}

/** One (possibly escaped) character of a `[...]` class, which must be followed by more of the chunk. */
function classChar(p: Buffer, at: number, end: number, bad: () => never): { rune: number; next: number } {
  let i = at;
  if (i >= end || p[i] === DASH || p[i] === CLOSE) bad();
  if (p[i] === BACKSLASH) {
    i++;
    if (i >= end) bad();
  }
  const [rune, width] = decodeRune(p, i, end);
  if (rune === RUNE_ERROR && width === 1) bad();
  if (i + width >= end) bad();
  return { rune, next: i + width };
}

/** Go's utf8.DecodeRune over `b[at, end)`: an invalid or truncated sequence is (U+FFFD, 1). */
function decodeRune(b: Buffer, at: number, end: number): [rune: number, width: number] {
  const b0 = b[at] as number;
  if (b0 < 0x80) return [b0, 1];
  const cont = (k: number, lo = 0x80, hi = 0xbf): number => {
    const v = at + k < end ? (b[at + k] as number) : -1;
    return v >= lo && v <= hi ? v & 0x3f : -1;
  };
  if (b0 >= 0xc2 && b0 < 0xe0) {
    const c1 = cont(1);
    if (c1 >= 0) return [((b0 & 0x1f) << 6) | c1, 2];
  } else if (b0 >= 0xe0 && b0 < 0xf0) {
    const c1 = cont(1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf);
    const c2 = c1 >= 0 ? cont(2) : -1;
    if (c2 >= 0) return [((b0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  } else if (b0 >= 0xf0 && b0 < 0xf5) {
    const c1 = cont(1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 >= 0 ? cont(2) : -1;
    const c3 = c2 >= 0 ? cont(3) : -1;
    if (c3 >= 0) return [((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return [RUNE_ERROR, 1];
}

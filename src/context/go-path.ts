/**
 * The two Go string helpers `.dockerignore` handling is defined in terms of,
 * reproduced exactly so patterns clean and trim as they do in BuildKit.
 */

/**
 * Go's `path.Clean` (also `filepath.Clean` on Unix): collapses repeated `/`,
 * drops `.` elements and a trailing `/`, resolves `..` against the element
 * before it (a rooted path stays at `/`, a relative one keeps leading `..`),
 * and turns the empty result into `.`.
 */
export function goClean(path: string): string {
  const rooted = path.startsWith('/');
  const out: string[] = [];
  let fixed = 0; // leading `..` elements of a relative path, which nothing can cancel
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') out.push(part);
    else if (out.length > fixed) out.pop();
    else if (!rooted) fixed = out.push('..');
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined || '.';
}

// unicode.IsSpace: ASCII blanks, NEL, NBSP and the Unicode White_Space set.
// (String.prototype.trim differs: it also strips U+FEFF and keeps U+0085.)
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

/** Go's `strings.TrimSpace`. */
export function goTrimSpace(s: string): string {
  return s.replace(GO_TRIM, '');
}

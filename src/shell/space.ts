/**
 * Go's `unicode.IsSpace`, which BuildKit uses wherever it trims or splits on
 * "whitespace": ASCII `\t \n \v \f \r` and space, U+0085, U+00A0, and the
 * Unicode space separators. (Not U+FEFF, unlike JavaScript's `\s`.)
 */
export function isSpaceCode(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0x85) return false;
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/** `isSpaceCode` for the first UTF-16 unit of `ch` (false for undefined). */
export const isSpaceChar = (ch: string | undefined): boolean => ch !== undefined && isSpaceCode(ch.charCodeAt(0));

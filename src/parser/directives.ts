/**
 * Parser directives: `# key=value` lines at the very top of a Dockerfile.
 */
import type { Directive } from './ast.ts';
import type { SourceText } from './source.ts';
import { isSpaceCode } from '../shell/space.ts';

export type EscapeChar = '\\' | '`';

const KNOWN = new Set(['syntax', 'escape', 'check']);

export interface DirectiveScan {
  directives: Directive[];
  escapeChar: EscapeChar;
}

/** Go regexp's `\s`: ASCII blanks only. */
const isGoSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
const isLetter = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isLetter(c) || (c !== undefined && c >= '0' && c <= '9');

interface DirectiveLine {
  /** Index of the `#`. */
  hash: number;
  name: string;
  value: string;
  /** Index just past the value. */
  end: number;
}

/**
 * BuildKit's `#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` after leading
 * whitespace, written out by hand: the regex backtracks quadratically in
 * JavaScript on a long line of blanks.
 */
function readDirectiveLine(line: string): DirectiveLine | undefined {
  let i = 0;
  while (i < line.length && isSpaceCode(line.charCodeAt(i))) i++;
  if (line[i] !== '#') return undefined;
  const hash = i++;
  while (i < line.length && isSpaceCode(line.charCodeAt(i))) i++;
  const nameStart = i;
  if (!isLetter(line[i])) return undefined;
  while (isAlnum(line[i])) i++;
  const name = line.slice(nameStart, i);
  while (isGoSpace(line[i])) i++;
  if (line[i] !== '=') return undefined;
  const afterEq = ++i;
  while (isGoSpace(line[i])) i++;
  let end = line.length;
  while (end > i && isGoSpace(line[end - 1])) end--;
  if (end > i) return { hash, name, value: line.slice(i, end), end };
  // Only blanks after `=`: the lazy `(.+?)` still takes the last one.
  if (line.length > afterEq) return { hash, name, value: line.slice(-1), end: line.length };
  return undefined;
}

/**
 * Reads the directives at the top of `source`. Scanning stops at the first
 * line that is not a known directive (a blank line, an ordinary comment, an
 * unknown key or an instruction), as BuildKit does; those lines are left for
 * the lexer, which sees directive lines as plain comments.
 *
 * Throws a UserError on a repeated key or an invalid `escape` value.
 */
export function scanDirectives(source: SourceText): DirectiveScan {
  const directives: Directive[] = [];
  let escapeChar: EscapeChar = '\\';
  const { text } = source;
  let start = source.bomLength;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const lineEnd = nl === -1 ? text.length : nl;
    let contentEnd = lineEnd;
    while (contentEnd > start && (text[contentEnd - 1] === '\r' || text[contentEnd - 1] === '\n')) contentEnd--;
    const found = readDirectiveLine(text.slice(start, contentEnd));
    const name = found?.name.toLowerCase();
    if (!found || name === undefined || !KNOWN.has(name)) break;
    const hashOffset = start + found.hash;
    if (directives.some((d) => d.name === name)) {
      throw source.error(`only one ${name} parser directive can be used`, hashOffset, { width: contentEnd - hashOffset });
    }
    if (name === 'escape') {
      if (found.value !== '\\' && found.value !== '`') {
        throw source.error(`invalid escape token '${found.value}' does not match \` or \\`, hashOffset, {
          width: contentEnd - hashOffset,
          hint: 'write # escape=\\ or # escape=`',
        });
      }
      escapeChar = found.value;
    }
    directives.push({ name, value: found.value, range: source.range(hashOffset, start + found.end) });
    start = lineEnd + 1;
  }
  return { directives, escapeChar };
}

/**
 * Parser directives: `# key=value` lines at the very top of a Dockerfile.
 */
import type { Directive } from './ast.ts';
import type { SourceText } from './source.ts';

export type EscapeChar = '\\' | '`';

const KNOWN = new Set(['syntax', 'escape', 'check']);
const DIRECTIVE = /^([ \t\v\f]*)#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

export interface DirectiveScan {
  directives: Directive[];
  escapeChar: EscapeChar;
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
    const line = text.slice(start, lineEnd).replace(/\r+$/, '');
    const m = DIRECTIVE.exec(line);
    const name = m?.[2]?.toLowerCase();
    if (!m || name === undefined || !KNOWN.has(name)) break;
    const value = m[3] ?? '';
    const hashOffset = start + (m[1]?.length ?? 0);
    if (directives.some((d) => d.name === name)) {
      throw source.error(`only one ${name} parser directive can be used`, hashOffset);
    }
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') {
        throw source.error(`invalid escape '${value}', must be \` or \\`, hashOffset);
      }
      escapeChar = value;
    }
    directives.push({ name, value, range: source.range(hashOffset, start + line.trimEnd().length) });
    start = lineEnd + 1;
  }
  return { directives, escapeChar };
}

/**
 * Dockerfile text → AST.
 */
import type { Dockerfile } from './ast.ts';
import { buildInstruction } from './instructions/index.ts';
import { parseSyntax } from './syntax.ts';

/**
 * Parses a Dockerfile into typed instructions. `file` is only used in error
 * locations and copied to the result.
 *
 * Two layers: `parseSyntax` reads directives, lines, continuations, comments,
 * flags, arguments and heredoc bodies as BuildKit's parser does; each node
 * is then given its typed instruction, which checks keywords, flags and
 * their values. Words stay raw (no quote removal, no `$VAR` expansion)
 * except JSON-array strings and flag values.
 *
 * Throws a UserError (with file, line and column, the source line and,
 * where one helps, a hint: see `UserError.explain`) on anything either
 * layer rejects; never anything else.
 */
export function parseDockerfile(text: string, file: string): Dockerfile {
  const tree = parseSyntax(text, file);
  return {
    file,
    directives: tree.directives,
    escapeChar: tree.escapeChar,
    instructions: tree.nodes.map(buildInstruction),
  };
}

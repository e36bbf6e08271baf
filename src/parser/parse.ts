/**
 * Dockerfile text → AST.
 */
import type { Dockerfile, Instruction } from './ast.ts';
import { scanDirectives } from './directives.ts';
import { buildInstruction } from './instructions/index.ts';
import { lexDockerfile } from './lexer.ts';
import { toRawInstruction } from './raw.ts';
import { SourceText } from './source.ts';
import { groupInstructions } from './structure.ts';

/**
 * Parses a Dockerfile. `file` is only used in error locations and copied to
 * the result.
 *
 * Stages: directives at the top pick the escape char; the Chevrotain lexer
 * and parser find each instruction's tokens (joining continuations, dropping
 * comment and empty lines inside them); each instruction is cut into
 * keyword, flags and arguments, then given its typed node. Words stay raw
 * (no quote removal, no `$VAR` expansion) except JSON-array strings.
 *
 * Throws a UserError (with file, line and column) on a repeated or invalid
 * directive, a file with no instructions, an unknown or unsupported
 * instruction, a flag the instruction does not take, or bad arguments.
 */
export function parseDockerfile(text: string, file: string): Dockerfile {
  const source = new SourceText(text, file);
  const { directives, escapeChar } = scanDirectives(source);
  const instructions: Instruction[] = [];
  for (const physical of groupInstructions(lexDockerfile(text, escapeChar))) {
    const raw = toRawInstruction(physical, source, escapeChar);
    if (raw) instructions.push(buildInstruction(raw));
  }
  if (instructions.length === 0) throw source.error('file with no instructions', source.bomLength);
  return { file, directives, escapeChar, instructions };
}

/**
 * Helpers shared by the per-instruction builders.
 */
import type { UserError } from '../../errors.ts';
import type { Flag, Range, Word } from '../ast.ts';
import type { ErrorMark, SourceText } from '../source.ts';
import type { SyntaxNode } from '../syntax.ts';

/** The fields every instruction node copies from the syntax node. */
export function base(node: SyntaxNode): { keyword: Word; flags: Flag[]; range: Range } {
  return { keyword: node.keyword, flags: node.flags, range: node.range };
}

/** The Dockerfile text the node was read from. */
export const sourceOf = (node: SyntaxNode): SourceText => node.rest.line.source;

/** The instruction's name for messages: the keyword upper-cased. */
export const nameOf = (node: SyntaxNode): string => node.keyword.value.toUpperCase();

/** An error pointing at the start of `range` and underlining it. */
export function errorAt(node: SyntaxNode, message: string, range: Range, mark: ErrorMark = {}): UserError {
  return sourceOf(node).error(message, range.start.offset, { width: range.end.offset - range.start.offset, ...mark });
}

/** `FROM requires either one or three arguments`, pointing at the keyword. */
export function missingArguments(node: SyntaxNode, requirement: string, hint?: string): UserError {
  return errorAt(node, `${nameOf(node)} requires ${requirement}`, node.keyword.range, hint === undefined ? {} : { hint });
}

/**
 * Helpers shared by the per-instruction builders.
 */
import type { UserError } from '../../errors.ts';
import type { Flag, Range, Word } from '../ast.ts';
import type { RawInstruction } from '../raw.ts';

/** The fields every instruction node copies from the raw instruction. */
export function base(raw: RawInstruction): { keyword: Word; flags: Flag[]; range: Range } {
  return { keyword: raw.keyword, flags: raw.flags, range: raw.range };
}

/** `FROM requires either one or three arguments`, pointing at the keyword. */
export function missingArguments(raw: RawInstruction, requirement: string): UserError {
  const name = raw.keyword.value.toUpperCase();
  return raw.args.line.source.error(`${name} requires ${requirement}`, raw.keyword.range.start.offset);
}

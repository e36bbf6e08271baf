/**
 * FROM image [AS name]
 */
import type { FromInstruction } from '../ast.ts';
import type { RawInstruction } from '../raw.ts';
import { spanWord, splitOnBlanks } from '../words.ts';
import { base, missingArguments } from './common.ts';

/** Blank-separated words: `image` or `image AS name` (`AS` in any case). */
export function buildFrom(raw: RawInstruction): FromInstruction {
  const words = splitOnBlanks(raw.args).map((span) => spanWord(raw.args, span));
  const [image, as, stageName] = words;
  if (!image || (words.length !== 1 && words.length !== 3)) {
    throw missingArguments(raw, 'either one or three arguments');
  }
  if (!as || !stageName) return { kind: 'FROM', ...base(raw), image };
  if (as.value.toLowerCase() !== 'as') {
    throw raw.args.line.source.error('the second argument of FROM must be "AS"', as.range.start.offset);
  }
  return { kind: 'FROM', ...base(raw), image, stageName };
}

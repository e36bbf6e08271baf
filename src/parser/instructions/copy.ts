/**
 * COPY and ADD: sources then destination, as words or as a JSON array.
 */
import type { CopyLikeInstruction } from '../ast.ts';
import type { RawInstruction } from '../raw.ts';
import { parseJsonArray, spanWord, splitOnBlanks } from '../words.ts';
import { base, missingArguments } from './common.ts';

/**
 * Shell-form words are split on blanks only, without quote processing: that
 * is BuildKit's behaviour (paths with spaces need the JSON form).
 */
export function buildCopyLike(kind: 'COPY' | 'ADD', raw: RawInstruction): CopyLikeInstruction {
  const json = parseJsonArray(raw.args);
  const words = json ?? splitOnBlanks(raw.args).map((span) => spanWord(raw.args, span));
  const dest = words.at(-1);
  if (words.length < 2 || !dest) throw missingArguments(raw, 'at least two arguments');
  return { kind, ...base(raw), form: json ? 'json' : 'shell', sources: words.slice(0, -1), dest };
}


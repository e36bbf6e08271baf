/**
 * FROM [--platform=P] image [AS name]
 */
import type { FromInstruction } from '../ast.ts';
import type { SyntaxNode } from '../syntax.ts';
import { base, errorAt, missingArguments } from './common.ts';
import { readFlags } from './flags.ts';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Blank-separated words: `image` or `image AS name` (`AS` in any case; the name is checked lower-cased). */
export function buildFrom(node: SyntaxNode): FromInstruction {
  const words = node.args.kind === 'words' ? node.args.words : [];
  const [image, as, stageName] = words;
  if (!image || (words.length !== 1 && words.length !== 3)) {
    throw missingArguments(node, 'either one or three arguments', 'write FROM image or FROM image AS name');
  }
  const flags = readFlags(node, { platform: 'string' }, 'FROM');
  const platform = flags.strings.get('platform');
  const fields = { kind: 'FROM' as const, ...base(node), image, ...(platform && { platform }) };
  if (!as || !stageName) return fields;
  if (as.value.toLowerCase() !== 'as') {
    throw errorAt(node, 'the second argument of FROM must be "AS"', as.range, { hint: 'write FROM image AS name' });
  }
  if (!STAGE_NAME.test(stageName.value.toLowerCase())) {
    throw errorAt(node, `invalid name for build stage: ${JSON.stringify(stageName.value)}, name can't start with a number or contain symbols`, stageName.range, {
      hint: 'stage names match [a-z][a-z0-9-_.]*',
    });
  }
  return { ...fields, stageName };
}

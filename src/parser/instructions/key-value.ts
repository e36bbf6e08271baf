/**
 * ENV and LABEL: `k=v k2="v 2"` pairs, or the legacy `KEY name rest of line`
 * (the parser already cut them; this checks them).
 */
import type { EnvInstruction, KeyValue, LabelInstruction } from '../ast.ts';
import type { SyntaxNode } from '../syntax.ts';
import { base, errorAt, missingArguments, nameOf } from './common.ts';
import { readFlags } from './flags.ts';

/** `ENV k=v…` or legacy `ENV k value`. */
export function buildEnv(node: SyntaxNode): EnvInstruction {
  return { kind: 'ENV', ...base(node), ...keyValues(node) };
}

/** `LABEL k=v…` or legacy `LABEL k value`. */
export function buildLabel(node: SyntaxNode): LabelInstruction {
  return { kind: 'LABEL', ...base(node), ...keyValues(node) };
}

/** Values keep their quotes and escapes; keys must not be empty. */
function keyValues(node: SyntaxNode): { pairs: KeyValue[]; legacy?: true } {
  const name = nameOf(node);
  readFlags(node, {}, name);
  const args = node.args.kind === 'pairs' ? node.args : { pairs: [], legacy: false };
  if (args.pairs.length === 0) throw missingArguments(node, 'at least one argument', `write ${name} key=value`);
  for (const { key } of args.pairs) {
    if (key.value === '') throw errorAt(node, `${name} names can not be blank`, key.range, { hint: `write ${name} key=value` });
  }
  return args.legacy ? { pairs: args.pairs, legacy: true } : { pairs: args.pairs };
}

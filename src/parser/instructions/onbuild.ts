/**
 * ONBUILD <instruction>: the trigger is checked like any instruction.
 */
import type { Instruction, OnbuildInstruction } from '../ast.ts';
import type { SyntaxNode } from '../syntax.ts';
import { base, errorAt, missingArguments } from './common.ts';
import { readFlags } from './flags.ts';

/**
 * `build` turns the nested node into its instruction (the dispatcher,
 * passed in to keep the modules acyclic). ONBUILD, FROM and MAINTAINER are
 * refused as triggers, as in BuildKit.
 */
export function buildOnbuild(node: SyntaxNode, build: (nested: SyntaxNode) => Instruction): OnbuildInstruction {
  readFlags(node, {}, 'ONBUILD');
  const nested = node.nested;
  if (!nested) throw missingArguments(node, 'at least one argument', 'write ONBUILD RUN command');
  const trigger = nested.keyword.value.toUpperCase();
  if (trigger === 'ONBUILD') {
    throw errorAt(node, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", nested.keyword.range);
  }
  if (trigger === 'FROM' || trigger === 'MAINTAINER') {
    throw errorAt(node, `${trigger} isn't allowed as an ONBUILD trigger`, nested.keyword.range);
  }
  let expression = nested.original;
  for (const heredoc of node.heredocs) expression += `\n${heredoc.rawContent}${heredoc.name}`;
  return { kind: 'ONBUILD', ...base(node), trigger: build(nested), expression };
}

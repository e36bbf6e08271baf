/**
 * From a syntax node to its typed AST node: one builder per keyword. This is
 * the instruction layer: it rejects what BuildKit's parser lets through
 * (unknown instructions, flags an instruction does not take, bad values).
 */
import type { Instruction, InstructionKind } from '../ast.ts';
import { closest } from '../suggest.ts';
import type { SyntaxNode } from '../syntax.ts';
import { buildCmd, buildEntrypoint, buildRun, buildShell } from './command.ts';
import { errorAt } from './common.ts';
import { buildCopyLike } from './copy.ts';
import { buildFrom } from './from.ts';
import { buildHealthcheck } from './healthcheck.ts';
import { buildEnv, buildLabel } from './key-value.ts';
import { buildOnbuild } from './onbuild.ts';
import { buildArg, buildExpose, buildMaintainer, buildStopsignal, buildUser, buildVolume, buildWorkdir } from './simple.ts';

const BUILDERS: Record<InstructionKind, (node: SyntaxNode) => Instruction> = {
  FROM: buildFrom,
  RUN: buildRun,
  CMD: buildCmd,
  ENTRYPOINT: buildEntrypoint,
  SHELL: buildShell,
  COPY: (node) => buildCopyLike('COPY', node),
  ADD: (node) => buildCopyLike('ADD', node),
  ENV: buildEnv,
  LABEL: buildLabel,
  ARG: buildArg,
  WORKDIR: buildWorkdir,
  USER: buildUser,
  EXPOSE: buildExpose,
  VOLUME: buildVolume,
  STOPSIGNAL: buildStopsignal,
  MAINTAINER: buildMaintainer,
  ONBUILD: (node) => buildOnbuild(node, buildInstruction),
  HEALTHCHECK: buildHealthcheck,
};

const KINDS = Object.keys(BUILDERS);

const isKind = (name: string): name is InstructionKind => Object.hasOwn(BUILDERS, name);

/**
 * Gives a syntax node its meaning. Throws a UserError (with the source line,
 * a caret and a hint where one helps) for an unknown keyword, a flag the
 * instruction does not take or with a bad value, and missing or malformed
 * arguments.
 */
export function buildInstruction(node: SyntaxNode): Instruction {
  const written = node.keyword.value;
  const name = written.toUpperCase();
  if (isKind(name)) return BUILDERS[name](node);
  const guess = closest(written, KINDS);
  const suggestion = guess && (written === written.toLowerCase() ? guess.toLowerCase() : guess);
  throw errorAt(node, `unknown instruction: ${written}`, node.keyword.range, {
    hint: suggestion ? `did you mean ${suggestion}?` : `instructions are ${KINDS.join(', ')}`,
  });
}

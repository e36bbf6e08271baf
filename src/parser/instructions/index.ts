/**
 * From a raw instruction to its typed AST node: one builder per keyword.
 */
import type { Instruction, InstructionKind } from '../ast.ts';
import type { RawInstruction } from '../raw.ts';
import { buildCmd, buildEntrypoint, buildRun } from './command.ts';
import { buildCopyLike } from './copy.ts';
import { checkFlags } from './flags.ts';
import { buildFrom } from './from.ts';
import { buildEnv, buildLabel } from './key-value.ts';
import { buildArg, buildExpose, buildUser, buildWorkdir } from './simple.ts';

const BUILDERS: Record<InstructionKind, (raw: RawInstruction) => Instruction> = {
  FROM: buildFrom,
  RUN: buildRun,
  CMD: buildCmd,
  ENTRYPOINT: buildEntrypoint,
  COPY: (raw) => buildCopyLike('COPY', raw),
  ADD: (raw) => buildCopyLike('ADD', raw),
  ENV: buildEnv,
  LABEL: buildLabel,
  ARG: buildArg,
  WORKDIR: buildWorkdir,
  USER: buildUser,
  EXPOSE: buildExpose,
};

/** Valid Dockerfile instructions that tsbuild does not handle yet. */
const NOT_YET = new Set(['HEALTHCHECK', 'ONBUILD', 'VOLUME', 'SHELL', 'STOPSIGNAL', 'MAINTAINER']);

const isKind = (name: string): name is InstructionKind => Object.hasOwn(BUILDERS, name);

/**
 * Gives a raw instruction its meaning. Throws a UserError for an unknown or
 * not-yet-supported keyword, a flag the instruction does not take, or
 * missing or malformed arguments.
 */
export function buildInstruction(raw: RawInstruction): Instruction {
  const name = raw.keyword.value.toUpperCase();
  const { source } = raw.args.line;
  const at = raw.keyword.range.start.offset;
  if (!isKind(name)) {
    if (NOT_YET.has(name)) throw source.error(`instruction not supported yet: ${name}`, at);
    throw source.error(`unknown instruction: ${raw.keyword.value}`, at);
  }
  checkFlags(name, raw.flags, source);
  return BUILDERS[name](raw);
}

/**
 * The instructions whose arguments are just words: ARG, WORKDIR, USER, EXPOSE.
 */
import type { ArgInstruction, ExposeInstruction, UserInstruction, WorkdirInstruction } from '../ast.ts';
import type { RawInstruction } from '../raw.ts';
import { spanWord, splitOnBlanks, splitQuoteAware, wholeWord } from '../words.ts';
import { base, missingArguments } from './common.ts';

/** `ARG a b=1 c=`: quote-aware words, each split at its first `=`. */
export function buildArg(raw: RawInstruction): ArgInstruction {
  const { line } = raw.args;
  const words = splitQuoteAware(raw.args);
  if (words.length === 0) throw missingArguments(raw, 'at least one argument');
  const args = words.map(({ start, end }) => {
    const eq = line.text.slice(start, end).indexOf('=');
    if (eq === -1) return { name: line.word(start, end) };
    if (eq === 0) throw line.error('ARG names can not be blank', start);
    return { name: line.word(start, start + eq), defaultValue: line.word(start + eq + 1, end) };
  });
  return { kind: 'ARG', ...base(raw), args };
}

/** The whole rest of the line is the path, spaces included. */
export function buildWorkdir(raw: RawInstruction): WorkdirInstruction {
  if (raw.args.start === raw.args.end) throw missingArguments(raw, 'exactly one argument');
  return { kind: 'WORKDIR', ...base(raw), path: wholeWord(raw.args) };
}

/** The whole rest of the line is the user spec (`user[:group]`). */
export function buildUser(raw: RawInstruction): UserInstruction {
  if (raw.args.start === raw.args.end) throw missingArguments(raw, 'exactly one argument');
  return { kind: 'USER', ...base(raw), user: wholeWord(raw.args) };
}

/** One word per port spec, split on blanks. */
export function buildExpose(raw: RawInstruction): ExposeInstruction {
  const ports = splitOnBlanks(raw.args).map((span) => spanWord(raw.args, span));
  if (ports.length === 0) throw missingArguments(raw, 'at least one argument');
  return { kind: 'EXPOSE', ...base(raw), ports };
}

/**
 * RUN, CMD and ENTRYPOINT: an exec-form JSON array or a shell-form script.
 */
import type { CmdInstruction, CommandForm, EntrypointInstruction, RunInstruction } from '../ast.ts';
import type { RawInstruction } from '../raw.ts';
import { base, missingArguments } from './common.ts';
import { parseJsonArray, wholeWord, type ArgText } from '../words.ts';

/**
 * The exec form when the arguments are a JSON array of strings, else the
 * shell form (invalid JSON falls back silently, as in BuildKit). A JSON
 * array holding a non-string is an error.
 */
export function commandForm(args: ArgText): CommandForm {
  const exec = parseJsonArray(args);
  if (exec) return { form: 'exec', args: exec };
  return { form: 'shell', script: wholeWord(args) };
}

/** `RUN` needs a command; its flags (--mount…) are checked by the caller. */
export function buildRun(raw: RawInstruction): RunInstruction {
  if (raw.args.start === raw.args.end) throw missingArguments(raw, 'at least one argument');
  return { kind: 'RUN', ...base(raw), command: commandForm(raw.args) };
}

/** A bare `CMD` is accepted, like BuildKit: an empty shell-form script. */
export function buildCmd(raw: RawInstruction): CmdInstruction {
  return { kind: 'CMD', ...base(raw), command: commandForm(raw.args) };
}

/** `ENTRYPOINT`, exec or shell form. */
export function buildEntrypoint(raw: RawInstruction): EntrypointInstruction {
  return { kind: 'ENTRYPOINT', ...base(raw), command: commandForm(raw.args) };
}

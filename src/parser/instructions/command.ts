/**
 * RUN, CMD, ENTRYPOINT and SHELL: an exec-form JSON array or a shell-form
 * script; RUN also has mounts, network and security modes, and heredocs.
 */
import { UserError } from '../../errors.ts';
import type { CmdInstruction, CommandForm, EntrypointInstruction, RunInstruction, RunMount, ShellInstruction, Word } from '../ast.ts';
import type { SyntaxNode } from '../syntax.ts';
import { base, errorAt, missingArguments } from './common.ts';
import { readFlags } from './flags.ts';
import { parseMount } from './mount.ts';

/**
 * The exec form when the arguments were a JSON array of strings, else the
 * shell form (invalid JSON is the shell form, as in BuildKit). No arguments
 * at all is an empty shell-form script pointing just past the keyword.
 */
function commandForm(node: SyntaxNode): CommandForm {
  const words = node.args.kind === 'words' ? node.args : { words: [], json: false };
  if (words.json) return { form: 'exec', args: words.words };
  const script = words.words[0] ?? { value: '', range: { start: node.keyword.range.end, end: node.keyword.range.end } };
  return { form: 'shell', script };
}

const hasArguments = (node: SyntaxNode): boolean => node.args.kind === 'words' && node.args.words.length > 0;

const NETWORKS = ['default', 'none', 'host'] as const;
const SECURITY = ['sandbox', 'insecure'] as const;

function oneOf<T extends string>(node: SyntaxNode, word: Word | undefined, allowed: readonly T[], fallback: T, message: (v: string) => string): T {
  if (!word) return fallback;
  const found = allowed.find((a) => a === word.value);
  if (found === undefined) throw errorAt(node, message(word.value), word.range, { hint: `one of ${allowed.join(', ')}` });
  return found;
}

/** Reads each `--mount` value, pointing errors at the value that caused them. */
function readMounts(node: SyntaxNode, specs: readonly Word[]): RunMount[] {
  return specs.map((spec) => {
    try {
      return { spec, ...parseMount(spec.value) };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw errorAt(node, e.message, spec.range, e.detail?.hint === undefined ? {} : { hint: e.detail.hint });
    }
  });
}

/** `RUN` needs a command. */
export function buildRun(node: SyntaxNode): RunInstruction {
  const flags = readFlags(node, { mount: 'list', network: 'string', security: 'string' }, 'RUN');
  if (!hasArguments(node)) throw missingArguments(node, 'at least one argument', 'write RUN command or RUN ["exe", "arg"]');
  return {
    kind: 'RUN',
    ...base(node),
    command: commandForm(node),
    mounts: readMounts(node, flags.lists.get('mount') ?? []),
    network: oneOf(node, flags.strings.get('network'), NETWORKS, 'default', (v) => `invalid network mode ${JSON.stringify(v)}`),
    security: oneOf(node, flags.strings.get('security'), SECURITY, 'sandbox', (v) => `security ${JSON.stringify(v)} is not valid`),
    heredocs: node.heredocs,
  };
}

/** A bare `CMD` is accepted, like BuildKit: an empty shell-form script. */
export function buildCmd(node: SyntaxNode): CmdInstruction {
  readFlags(node, {}, 'CMD');
  return { kind: 'CMD', ...base(node), command: commandForm(node) };
}

/** `ENTRYPOINT`, exec or shell form; bare, it clears the entrypoint. */
export function buildEntrypoint(node: SyntaxNode): EntrypointInstruction {
  readFlags(node, {}, 'ENTRYPOINT');
  return { kind: 'ENTRYPOINT', ...base(node), command: commandForm(node) };
}

/** `SHELL ["exe", "arg"…]`: the JSON form is required. */
export function buildShell(node: SyntaxNode): ShellInstruction {
  readFlags(node, {}, 'SHELL');
  const hint = 'write SHELL ["/bin/bash", "-c"]';
  if (!hasArguments(node)) throw missingArguments(node, 'at least one argument', hint);
  const form = commandForm(node);
  if (form.form !== 'exec') throw errorAt(node, 'SHELL requires the arguments to be in JSON form', form.script.range, { hint });
  return { kind: 'SHELL', ...base(node), shell: form.args };
}

/**
 * HEALTHCHECK NONE, or HEALTHCHECK [--interval=…] [--timeout=…]
 * [--start-period=…] [--start-interval=…] [--retries=N] CMD command.
 */
import { UserError } from '../../errors.ts';
import type { CommandForm, HealthcheckInstruction, Word } from '../ast.ts';
import type { SyntaxNode } from '../syntax.ts';
import { base, errorAt, missingArguments } from './common.ts';
import { parseDuration } from './duration.ts';
import { readFlags } from './flags.ts';

const FLAGS = {
  interval: 'string',
  timeout: 'string',
  'start-period': 'string',
  'start-interval': 'string',
  retries: 'string',
} as const;

const DURATION_HINT = 'durations look like 30s, 1m30s or 500ms; 0 means the default';

/** A duration option in nanoseconds: 0 when absent; otherwise 0 or at least 1ms. */
function duration(node: SyntaxNode, name: string, word: Word | undefined): number {
  if (!word || word.value === '') return 0;
  let ns: number;
  try {
    ns = parseDuration(word.value);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw errorAt(node, `--${name}: ${e.message}`, word.range, { hint: DURATION_HINT });
  }
  if (ns !== 0 && ns < 1e6) throw errorAt(node, `Interval "${name}" cannot be less than 1ms`, word.range, { hint: DURATION_HINT });
  return ns;
}

/** `--retries`: a 32-bit integer, not negative. */
function retries(node: SyntaxNode, word: Word | undefined): number {
  if (!word || word.value === '') return 0;
  const n = /^[+-]?\d+$/.test(word.value) ? Number(word.value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 2147483647 || n < -2147483648) {
    throw errorAt(node, `--retries: invalid number ${JSON.stringify(word.value)}`, word.range, { hint: 'write --retries=3' });
  }
  if (n < 0) throw errorAt(node, `--retries cannot be negative (${n})`, word.range);
  return n;
}

/**
 * NONE takes no arguments (its flags are ignored, as BuildKit does); any
 * other type must be CMD with a command.
 */
export function buildHealthcheck(node: SyntaxNode): HealthcheckInstruction {
  const args = node.args.kind === 'healthcheck' ? node.args : { type: undefined, command: [], json: false };
  const type = args.type;
  if (!type) throw missingArguments(node, 'at least one argument', 'write HEALTHCHECK CMD command or HEALTHCHECK NONE');
  const unset = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type.value.toUpperCase() === 'NONE') {
    const extra = args.command[0];
    if (extra) throw errorAt(node, 'HEALTHCHECK NONE takes no arguments', extra.range);
    return { kind: 'HEALTHCHECK', ...base(node), test: 'NONE', ...unset };
  }
  const flags = readFlags(node, FLAGS, 'HEALTHCHECK');
  if (type.value.toUpperCase() !== 'CMD') {
    throw errorAt(node, `Unknown type ${JSON.stringify(type.value.toUpperCase())} in HEALTHCHECK (try CMD)`, type.range, {
      hint: 'write HEALTHCHECK CMD command or HEALTHCHECK NONE',
    });
  }
  const first = args.command[0];
  if (!first) throw errorAt(node, 'Missing command after HEALTHCHECK CMD', type.range, { hint: 'write HEALTHCHECK CMD command' });
  const command: CommandForm = args.json ? { form: 'exec', args: args.command } : { form: 'shell', script: first };
  return {
    kind: 'HEALTHCHECK',
    ...base(node),
    test: 'CMD',
    command,
    interval: duration(node, 'interval', flags.strings.get('interval')),
    timeout: duration(node, 'timeout', flags.strings.get('timeout')),
    startPeriod: duration(node, 'start-period', flags.strings.get('start-period')),
    startInterval: duration(node, 'start-interval', flags.strings.get('start-interval')),
    retries: retries(node, flags.strings.get('retries')),
  };
}

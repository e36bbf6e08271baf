/**
 * ENV and LABEL: `k=v k2="v 2"` pairs, or the legacy `KEY name rest of line`.
 */
import type { EnvInstruction, KeyValue, LabelInstruction } from '../ast.ts';
import type { RawInstruction } from '../raw.ts';
import { splitQuoteAware } from '../words.ts';
import { base, missingArguments } from './common.ts';

const isBlank = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r';

/** `ENV k=v…` or legacy `ENV k value`. */
export function buildEnv(raw: RawInstruction): EnvInstruction {
  return { kind: 'ENV', ...base(raw), ...keyValues(raw) };
}

/** `LABEL k=v…` or legacy `LABEL k value`. */
export function buildLabel(raw: RawInstruction): LabelInstruction {
  return { kind: 'LABEL', ...base(raw), ...keyValues(raw) };
}

/**
 * Which form is used is decided by the first quote-aware word: without `=`
 * it is the legacy form. Values keep their quotes and escapes.
 */
function keyValues(raw: RawInstruction): { pairs: KeyValue[]; legacy?: true } {
  const { args } = raw;
  const { line } = args;
  const name = raw.keyword.value.toUpperCase();
  const words = splitQuoteAware(args);
  const first = words[0];
  if (!first) throw missingArguments(raw, 'at least one argument');
  if (!line.text.slice(first.start, first.end).includes('=')) {
    let keyEnd = args.start;
    while (keyEnd < args.end && !isBlank(line.text[keyEnd])) keyEnd++;
    let valueStart = keyEnd;
    while (valueStart < args.end && isBlank(line.text[valueStart])) valueStart++;
    if (valueStart === args.end) throw line.error(`${name} must have two arguments`, args.start);
    return { pairs: [{ key: line.word(args.start, keyEnd), value: line.word(valueStart, args.end) }], legacy: true };
  }
  const pairs = words.map((span) => {
    const eq = line.text.slice(span.start, span.end).indexOf('=');
    if (eq === -1) {
      const word = line.text.slice(span.start, span.end);
      throw line.error(`can't find = in ${JSON.stringify(word)}, must be of the form: name=value`, span.start);
    }
    if (eq === 0) throw line.error(`${name} names can not be blank`, span.start);
    return { key: line.word(span.start, span.start + eq), value: line.word(span.start + eq + 1, span.end) };
  });
  return { pairs };
}

import { UserError } from '../errors.ts';

/** `--label KEY=VALUE` (repeatable; `KEY` alone is an empty value, as docker takes it). */
export function parseLabels(values: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key.trim() === '') throw new UserError(`invalid --label ${JSON.stringify(v)}: expected KEY=VALUE`);
    m.set(key, eq < 0 ? '' : v.slice(eq + 1));
  }
  return m;
}

import { looksSecret, PROXY_ARGS } from './args.ts';

/** Go's `%q` rendering of a string list: `["a" "b"]`, as BuildKit writes CMD and ENTRYPOINT history. */
export function goQuotedList(args: readonly string[] | null | undefined): string {
  return `[${(args ?? []).map((a) => JSON.stringify(a)).join(' ')}]`;
}

/** Go's `%v` rendering of a string list: `[a b]`, as BuildKit writes EXPOSE, VOLUME and SHELL history. */
export function goList(args: readonly string[]): string {
  return `[${args.join(' ')}]`;
}

/**
 * A RUN's `created_by`, as BuildKit writes it: `RUN |2 A=1 B=2 /bin/sh -c cmd`
 * where the `|N` block lists the stage's build args in effect. Proxy args are
 * left out, and — unlike BuildKit, which leaks them — values of args whose
 * names look like secrets are redacted.
 */
export function runCreatedBy(args: readonly string[], buildArgs: ReadonlyMap<string, string>): string {
  const shown = [...buildArgs].filter(([k]) => !PROXY_ARGS.has(k)).map(([k, v]) => `${k}=${looksSecret(k) ? '<redacted>' : v}`);
  const prefix = shown.length > 0 ? `|${shown.length} ${shown.join(' ')} ` : '';
  return `RUN ${prefix}${args.join(' ')}`;
}

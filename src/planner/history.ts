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
 * where the `|N` block lists every build arg the stage declared, in order,
 * with its value as the RUN sees it (an ENV of the same name wins; an arg
 * with no value shows as `A=`). Proxy args are left out, and — unlike
 * BuildKit, which leaks them — values of args whose names look like secrets
 * are redacted.
 */
export function runCreatedBy(args: readonly string[], declared: readonly string[], value: (name: string) => string): string {
  const shown = declared.filter((k) => !PROXY_ARGS.has(k)).map((k) => `${k}=${looksSecret(k) ? '<redacted>' : value(k)}`);
  const prefix = shown.length > 0 ? `|${shown.length} ${shown.join(' ')} ` : '';
  return `RUN ${prefix}${args.join(' ')}`;
}

/** `EXPOSE map[443/tcp:{} 80/tcp:{}]`: Go's rendering of the port set BuildKit records (keys sorted). */
export function exposeCreatedBy(ports: readonly string[]): string {
  return `EXPOSE map[${[...new Set(ports)].sort().map((p) => `${p}:{}`).join(' ')}]`;
}

/** Go's `time.Duration` string: `1m30s`, `500ms`, `0s`. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1_000) return `${ns}ns`;
  if (ns < 1_000_000) return `${trim(ns / 1_000)}µs`;
  if (ns < 1_000_000_000) return `${trim(ns / 1_000_000)}ms`;
  const totalSeconds = ns / 1e9;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds - h * 3600) / 60);
  const sec = trim(totalSeconds - h * 3600 - m * 60);
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}

/** Go's `%q` of a rune: `'\x03'`, `'A'`, `'\n'`. */
export function goQuoteRune(n: number): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 39: "\\'", 92: '\\\\' };
  if (named[n] !== undefined) return `'${named[n]}'`;
  if (n >= 0x20 && n < 0x7f) return `'${String.fromCharCode(n)}'`;
  if (n < 0x80) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  return `'\\u${n.toString(16).padStart(4, '0')}'`;
}

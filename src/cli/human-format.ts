/**
 * Times and tables as `docker images` and `docker history` print them (sizes
 * are `humanSize` in src/progress/units.ts, shared with the progress display).
 */

/** `created` (RFC 3339) relative to `now`, e.g. `3 hours ago`; `N/A` when absent or unreadable. */
export function humanAgo(created: string | undefined, now = Date.now()): string {
  const t = created === undefined ? NaN : Date.parse(created);
  if (Number.isNaN(t)) return 'N/A';
  const s = Math.max(0, (now - t) / 1000);
  const span = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (s < 1) return 'Less than a second ago';
  if (s < 60) return span(Math.floor(s), 'second');
  if (s < 3600) return span(Math.floor(s / 60), 'minute');
  if (s < 86400 * 2) return span(Math.floor(s / 3600), 'hour');
  if (s < 86400 * 14) return span(Math.floor(s / 86400), 'day');
  if (s < 86400 * 60) return span(Math.floor(s / (86400 * 7)), 'week');
  if (s < 86400 * 365 * 2) return span(Math.floor(s / (86400 * 30)), 'month');
  return span(Math.floor(s / (86400 * 365)), 'year');
}

/** Rows as left-aligned columns separated by three spaces, header first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

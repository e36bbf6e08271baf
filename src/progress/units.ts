/**
 * Sizes, rates and durations as the renderers and summaries print them.
 * Sizes are docker's: decimal units with three significant digits (`1.23MB`).
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** `1.23MB`, `512B`: as `docker images` prints sizes. */
export function humanSize(bytes: number): string {
  let v = bytes;
  let unit = 0;
  while (v >= 1000 && unit < UNITS.length - 1) {
    v /= 1000;
    unit++;
  }
  return `${Number(v.toPrecision(3))}${UNITS[unit]}`;
}

/** `5.1MB/s`; empty when no time has passed to measure over. */
export function humanRate(bytes: number, seconds: number): string {
  return seconds > 0 ? `${humanSize(bytes / seconds)}/s` : '';
}

/** `0.4s`, `12.3s`, `2m05s`: durations as BuildKit shows them. */
export function humanSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.floor(seconds - m * 60)).padStart(2, '0')}s`;
}

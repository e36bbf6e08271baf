/**
 * Go's `time.ParseDuration`: HEALTHCHECK option values such as `30s`,
 * `1m30s`, `1.5h`, `500ms`.
 */
import { UserError } from '../../errors.ts';

const UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's maximum duration, 2^63-1 ns (about 292 years). */
const MAX_NS = 9223372036854775807;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * Nanoseconds for a duration string: an optional sign, then one or more
 * decimal numbers each followed by a unit (ns, us, µs, ms, s, m, h); `0`
 * alone needs no unit. Throws a UserError with Go's message otherwise.
 */
export function parseDuration(text: string): number {
  const invalid = (): UserError => new UserError(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  let i = 0;
  while (i < s.length) {
    if (!(s[i] === '.' || isDigit(s[i]))) throw invalid();
    const numberStart = i;
    while (isDigit(s[i])) i++;
    const hasInteger = i > numberStart;
    let hasFraction = false;
    if (s[i] === '.') {
      i++;
      const fractionStart = i;
      while (isDigit(s[i])) i++;
      hasFraction = i > fractionStart;
    }
    if (!hasInteger && !hasFraction) throw invalid();
    const value = Number(s.slice(numberStart, i));
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !isDigit(s[i])) i++;
    const unit = s.slice(unitStart, i);
    if (unit === '') throw new UserError(`time: missing unit in duration ${JSON.stringify(text)}`);
    const scale = UNITS[unit];
    if (scale === undefined) throw new UserError(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    total += value * scale;
    if (total > MAX_NS) throw invalid();
  }
  return sign * Math.round(total);
}

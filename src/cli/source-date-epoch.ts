import { UserError } from '../errors.ts';

/** `--source-date-epoch` when given, else `$SOURCE_DATE_EPOCH` (empty means unset): whole seconds since 1970. */
export function sourceDateEpoch(flag: string | undefined): number | undefined {
  const fromFlag = flag !== undefined;
  const v = flag ?? process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || (v === '' && !fromFlag)) return undefined;
  if (!/^\d+$/.test(v)) throw new UserError(`invalid ${fromFlag ? '--source-date-epoch' : 'SOURCE_DATE_EPOCH'} ${JSON.stringify(v)}: expected whole seconds since 1970`);
  return Number(v);
}

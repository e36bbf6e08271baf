import { UserError } from '../errors.ts';
import type { OciOutput } from '../build/build.ts';

/**
 * Parses a `-o/--output` value in docker's CSV form:
 * `type=oci,dest=DIR,tar=false`. Only the OCI layout directory exists yet.
 */
export function parseOutputSpec(spec: string): OciOutput {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UserError(`invalid --output ${JSON.stringify(spec)}: expected key=value pairs`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const type = fields.get('type');
  const dest = fields.get('dest');
  if (type !== 'oci') throw new UserError(`unsupported --output type ${JSON.stringify(type ?? '')}: only type=oci is supported`);
  if (!dest) throw new UserError('--output type=oci needs dest=DIR');
  if (fields.get('tar') !== 'false') {
    throw new UserError('--output type=oci writes a layout directory: add tar=false (tarball export is not supported yet)');
  }
  return { type: 'oci', dest };
}

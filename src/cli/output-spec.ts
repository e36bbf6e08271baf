import { UserError } from '../errors.ts';
import type { OutputSpec } from '../build/export.ts';

/**
 * Parses one `-o/--output` value with BuildKit's (buildx's) rules:
 *
 * - a CSV list of `key=value` fields, quoted as CSV when a value holds a
 *   comma: `type=oci,dest=out.tar,"name=app:1,app:latest"`;
 * - a bare path means `type=local,dest=PATH`, and `-` means `type=tar,dest=-`
 *   (the filesystem as a tar on stdout);
 * - `type=local,dest=DIR`: the final filesystem as a directory;
 * - `type=tar,dest=FILE|-`: the final filesystem as a tar;
 * - `type=oci|docker,dest=FILE|-[,tar=false][,name=N[,N...]]`: the image as an
 *   OCI layout tar (docker: one that `docker load` reads too), or with
 *   `tar=false` as a directory; `name` defaults to the `-t` names.
 *
 * Unknown types and keys, a missing `dest` and `dest=-` where a directory is
 * written are one-line UserErrors.
 */
export function parseOutputSpec(spec: string): OutputSpec {
  const bad = (why: string): never => {
    throw new UserError(`invalid --output ${JSON.stringify(spec)}: ${why}`);
  };
  const fields = splitCsv(spec, bad);
  if (fields.length === 1 && !(fields[0] as string).includes('=')) {
    const only = fields[0] as string;
    if (only === '') bad('it is empty');
    return only === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: only };
  }
  const kv = new Map<string, string>();
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) bad(`${JSON.stringify(field)} is not key=value`);
    const key = field.slice(0, eq).trim().toLowerCase();
    if (kv.has(key)) bad(`${key} is given twice`);
    kv.set(key, field.slice(eq + 1).trim());
  }
  const type = kv.get('type');
  if (type === undefined) bad('type is required (local, tar, oci or docker)');
  const allow = (...keys: string[]): void => {
    for (const key of kv.keys()) {
      if (key !== 'type' && !keys.includes(key)) bad(`type=${type} does not take ${key} (it takes ${keys.join(', ')})`);
    }
  };
  const dest = (): string => {
    const d = kv.get('dest');
    if (d === undefined || d === '') bad(`type=${type} needs dest=`);
    return d as string;
  };
  switch (type) {
    case 'local': {
      allow('dest');
      const d = dest();
      if (d === '-') bad('type=local writes a directory; use type=tar for stdout');
      return { type: 'local', dest: d };
    }
    case 'tar':
      allow('dest');
      return { type: 'tar', dest: dest() };
    case 'oci':
    case 'docker': {
      allow('dest', 'tar', 'name');
      const tar = kv.has('tar') ? parseBool(kv.get('tar') as string, bad) : true;
      const d = dest();
      if (!tar && d === '-') bad('tar=false writes a directory; dest=- needs a tar');
      const names = kv.get('name')?.split(',').map((n) => n.trim()).filter((n) => n !== '');
      return { type, dest: d, tar, ...(names && names.length > 0 && { names }) };
    }
    case 'image':
    case 'registry':
      return bad(`type=${type} is not supported: name the image with -t and push it with \`tsbuild push\``);
    default:
      return bad(`unknown type ${JSON.stringify(type)} (expected local, tar, oci or docker)`);
  }
}

/** Go's strconv.ParseBool, which BuildKit uses for boolean attributes. */
function parseBool(v: string, bad: (why: string) => never): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return bad(`${JSON.stringify(v)} is not a boolean`);
}

/** One CSV record: commas separate fields; a field that starts with `"` is quoted, `""` being a quote inside. */
function splitCsv(line: string, bad: (why: string) => never): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) bad('a quoted field is not closed');
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i];
        i++;
      }
      if (i < line.length && line[i] !== ',') bad('unexpected text after a closing quote');
      fields.push(value);
    } else {
      const comma = line.indexOf(',', i);
      const value = line.slice(i, comma < 0 ? line.length : comma);
      if (value.includes('"')) bad('a quote may only start a field');
      fields.push(value);
      i = comma < 0 ? line.length : comma;
    }
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/**
 * `RUN --mount=` values: CSV `key=value` options read into a mount, checked
 * as BuildKit checks them.
 */
import { UserError } from '../../errors.ts';
import type { MountSharing, MountType, RunMount } from '../ast.ts';
import { closest } from '../suggest.ts';

/** Options whose values are kept as written, variables and all: the planner expands them. */
const STRING_KEYS = new Set(['from', 'source', 'src', 'target', 'dst', 'destination', 'id', 'env']);

/** A mount without the word it was read from. */
export type MountFields = Omit<RunMount, 'spec'>;

const TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly MountSharing[] = ['shared', 'private', 'locked'];
const KEYS = [
  'type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw',
  'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'env',
];

/** Splits one CSV record (`"` quoting, `""` inside quotes), as Go's encoding/csv reads a line. */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close === -1) throw new UserError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
        field += text.slice(i, close);
        i = close + 1;
        if (text[i] === '"') {
          field += '"';
          i++;
          continue;
        }
        break;
      }
      if (i < text.length && text[i] !== ',') throw new UserError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
      fields.push(field);
    } else {
      const comma = text.indexOf(',', i);
      const field = text.slice(i, comma === -1 ? text.length : comma);
      if (field.includes('"')) throw new UserError('failed to parse csv mounts: bare " in non-quoted-field');
      fields.push(field);
      i = comma === -1 ? text.length : comma;
    }
    if (i >= text.length) return fields;
    i++;
  }
}

/** Go's strconv.ParseBool. */
const parseBool = (key: string, value: string): boolean => {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new UserError(`invalid value for ${key}: ${value}`, undefined, { hint: `write ${key}=true or ${key}=false` });
};

const parseUint = (value: string, radix: 8 | 10, what: string): number => {
  const digits = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  const n = digits.test(value) ? Number.parseInt(value, radix) : Number.NaN;
  if (!Number.isFinite(n) || n > 0xffffffff) throw new UserError(`invalid value ${value} for ${what}`);
  return n;
};

/** docker/go-units RAMInBytes: `64m`, `1.5g`, `512kib`… in powers of 1024. */
function ramInBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(value);
  if (!m) throw new UserError(`invalid value for size: ${value}`, undefined, { hint: 'write a size such as 64m or 1g' });
  const power = 'bkmgtp'.indexOf((m[2] ?? 'b').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

function unsupportedType(value: string): UserError {
  const guess = closest(value, TYPES);
  const valid = `mount types: ${TYPES.join(', ')}`;
  return new UserError(`unsupported mount type ${JSON.stringify(value)}`, undefined, { hint: guess ? `did you mean ${guess}? (${valid})` : valid });
}

/**
 * Reads a `--mount` value. With `expand`, every value is expanded first and
 * the mount is checked completely; without it (parse time) string options
 * keep their values as written, and a typed option (type, ro/rw, required,
 * sharing, size, mode, uid, gid) whose value holds `$` is left for later:
 * its key goes to `deferred`.
 *
 * Throws a UserError without location (callers add it): bad CSV, a field
 * without `=` other than the boolean keys, an unknown key or mount type,
 * a bad boolean, size, mode, uid, gid or sharing value, an option the type
 * does not take, a `from` with a variable, or an inconsistent secret mount.
 */
export function parseMount(spec: string, expand?: (value: string) => string): MountFields {
  const mount: MountFields = { type: 'bind', readOnly: true, required: false, deferred: [] };
  let readOnlySet = false;
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    if (eq === -1) {
      switch (key) {
        case 'readonly':
        case 'ro':
          mount.readOnly = true;
          readOnlySet = true;
          continue;
        case 'readwrite':
        case 'rw':
          mount.readOnly = false;
          readOnlySet = true;
          continue;
        case 'required':
          if (mount.type !== 'secret' && mount.type !== 'ssh') throw new UserError(`unexpected key '${key}' for mount type '${mount.type}'`);
          mount.required = true;
          continue;
        default:
          throw new UserError(`invalid field '${field}' must be a key=value pair`, undefined, { hint: 'write key=value, e.g. type=cache,target=/root/.cache' });
      }
    }
    let value = field.slice(eq + 1);
    if (expand) value = expand(value);
    else if (value.includes('$')) {
      if (key === 'from' && value.indexOf('$') !== value.length - 1) {
        throw new UserError(`'${key}' doesn't support variable expansion, define alias stage instead`);
      }
      if (KEYS.includes(key) && !STRING_KEYS.has(key)) {
        mount.deferred.push(key);
        continue;
      }
    }
    switch (key) {
      case 'type': {
        const type = TYPES.find((t) => t === value.toLowerCase());
        if (!type) throw unsupportedType(value);
        mount.type = type;
        break;
      }
      case 'from':
        mount.from = value;
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
        mount.readOnly = parseBool(key, value);
        readOnlySet = true;
        break;
      case 'readwrite':
      case 'rw':
        mount.readOnly = !parseBool(key, value);
        readOnlySet = true;
        break;
      case 'required':
        if (mount.type !== 'secret' && mount.type !== 'ssh') throw new UserError(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.required = parseBool(key, value);
        break;
      case 'size':
        if (mount.type !== 'tmpfs') throw new UserError(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.size = ramInBytes(value);
        break;
      case 'id':
        mount.id = value;
        break;
      case 'sharing': {
        const sharing = SHARING.find((s) => s === value.toLowerCase());
        if (!sharing) {
          const guess = closest(value, SHARING);
          const valid = `sharing modes: ${SHARING.join(', ')}`;
          throw new UserError(`unsupported sharing value ${JSON.stringify(value)}`, undefined, { hint: guess ? `did you mean ${guess}? (${valid})` : valid });
        }
        mount.sharing = sharing;
        break;
      }
      case 'mode':
        mount.mode = parseUint(value, 8, 'mode');
        break;
      case 'uid':
        mount.uid = parseUint(value, 10, 'uid');
        break;
      case 'gid':
        mount.gid = parseUint(value, 10, 'gid');
        break;
      case 'env':
        mount.env = value;
        break;
      default: {
        const guess = closest(key, KEYS);
        const valid = `mount options: ${KEYS.join(', ')}`;
        throw new UserError(`unexpected key '${key}' in '${field}'`, undefined, { hint: guess ? `did you mean ${guess}? (${valid})` : valid });
      }
    }
  }
  checkMount(mount, readOnlySet);
  return mount;
}

/** The checks BuildKit makes once all options are read; sets the read-only default. */
function checkMount(mount: MountFields, readOnlySet: boolean): void {
  if (mount.type !== 'secret' && mount.type !== 'ssh' && mount.type !== 'cache') {
    for (const key of ['mode', 'uid', 'gid'] as const) {
      if (mount[key] !== undefined) throw new UserError(`${key} not allowed for "${mount.type}" type mounts`);
    }
  }
  if (!readOnlySet) mount.readOnly = mount.type !== 'cache' && mount.type !== 'tmpfs';
  if (mount.type === 'secret') {
    if (mount.from !== undefined) throw new UserError('secret mount should not have a from');
    if (mount.sharing !== undefined) throw new UserError('secret mount should not define sharing');
    const deferred = (k: string): boolean => mount.deferred.includes(k);
    const hasSource = mount.source !== undefined || deferred('source') || deferred('src');
    const hasTarget = mount.target !== undefined || deferred('target') || deferred('dst') || deferred('destination');
    const hasId = mount.id !== undefined || deferred('id');
    if (!hasSource && !hasTarget && !hasId) {
      throw new UserError('invalid secret mount. one of source, target required', undefined, { hint: 'write e.g. --mount=type=secret,id=token' });
    }
    if (mount.source !== undefined && mount.id !== undefined) throw new UserError("both source and id can't be set");
  }
  if (mount.sharing !== undefined && mount.type !== 'cache') throw new UserError(`invalid cache sharing set for ${mount.type} mount`);
}

import { resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { parseReference, type Reference } from '../image/reference.ts';

/** How much `--cache-to` exports: `min` the steps of the result image, `max` every step of the build. */
export type CacheMode = 'min' | 'max';

/** Where `--cache-from` imports records from. */
export type CacheSource = { type: 'registry'; ref: Reference } | { type: 'local'; src: string };

/** Where `--cache-to` exports records to. `ignoreError`: a failed export is a warning, not a failed build. */
export type CacheTarget = ({ type: 'registry'; ref: Reference } | { type: 'local'; dest: string }) & { mode: CacheMode; ignoreError: boolean };

/**
 * `--cache-from` as docker buildx spells it: `type=registry,ref=REF`,
 * `type=local,src=DIR`, or a bare image reference.
 */
export function parseCacheFrom(spec: string): CacheSource {
  const attrs = attributes(spec, '--cache-from', ['type', 'ref', 'src']);
  const type = attrs.get('type') ?? 'registry';
  if (type === 'registry') return { type, ref: reference(attrs, spec, '--cache-from') };
  if (type === 'local') return { type, src: resolve(need(attrs, 'src', spec, '--cache-from')) };
  throw new UserError(`--cache-from ${spec}: unknown type ${JSON.stringify(type)}; use type=registry,ref=REF or type=local,src=DIR`);
}

/**
 * `--cache-to` as docker buildx spells it: `type=registry,ref=REF`,
 * `type=local,dest=DIR`, with `mode=min` (default) or `mode=max` and
 * `ignore-error=true`.
 */
export function parseCacheTo(spec: string): CacheTarget {
  const attrs = attributes(spec, '--cache-to', ['type', 'ref', 'dest', 'mode', 'ignore-error']);
  const mode = attrs.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw new UserError(`--cache-to ${spec}: mode must be min or max, not ${JSON.stringify(mode)}`);
  const ignore = attrs.get('ignore-error') ?? 'false';
  if (ignore !== 'true' && ignore !== 'false') throw new UserError(`--cache-to ${spec}: ignore-error must be true or false`);
  const common = { mode, ignoreError: ignore === 'true' } as const;
  const type = attrs.get('type') ?? 'registry';
  if (type === 'registry') return { type, ref: reference(attrs, spec, '--cache-to'), ...common };
  if (type === 'local') return { type, dest: resolve(need(attrs, 'dest', spec, '--cache-to')), ...common };
  throw new UserError(`--cache-to ${spec}: unknown type ${JSON.stringify(type)}; use type=registry,ref=REF or type=local,dest=DIR`);
}

function attributes(spec: string, flag: string, known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const parts = spec.split(',').filter((p) => p !== '');
  if (parts.length === 1 && !parts[0]?.includes('=')) return new Map([['ref', parts[0] as string]]);
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UserError(`${flag} ${spec}: expected key=value pairs separated by commas, got ${JSON.stringify(part)}`);
    const key = part.slice(0, eq).trim();
    if (!known.includes(key)) throw new UserError(`${flag} ${spec}: unknown attribute ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    out.set(key, part.slice(eq + 1));
  }
  return out;
}

function need(attrs: Map<string, string>, key: string, spec: string, flag: string): string {
  const v = attrs.get(key);
  if (v === undefined || v === '') throw new UserError(`${flag} ${spec}: ${key}= is required`);
  return v;
}

function reference(attrs: Map<string, string>, spec: string, flag: string): Reference {
  const ref = need(attrs, 'ref', spec, flag);
  try {
    return parseReference(ref);
  } catch (e) {
    throw new UserError(`${flag} ${spec}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

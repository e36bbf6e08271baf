import { createHash } from 'node:crypto';
import type { Digest } from '../image/oci.ts';

/** A JSON value with a canonical encoding. */
export type KeyInput = string | number | boolean | null | KeyInput[] | { [k: string]: KeyInput | undefined };

/**
 * sha256 over a canonical JSON encoding (object keys sorted, undefined
 * members dropped) of a vertex's inputs. The encoding is versioned so that a
 * change in what goes into keys invalidates old caches instead of colliding.
 */
export function cacheKey(input: KeyInput): Digest {
  return `sha256:${createHash('sha256').update(`tsbuild-key-v1\n${canonical(input)}`).digest('hex')}`;
}

function canonical(v: KeyInput | undefined): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

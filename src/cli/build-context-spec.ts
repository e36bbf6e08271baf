import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NamedContext } from '../build/named-contexts.ts';
import { UserError } from '../errors.ts';
import { parseReference } from '../image/reference.ts';

/**
 * `--build-context NAME=SOURCE` (repeatable), as buildx spells it:
 * `docker-image://REF`, `oci-layout://DIR[:TAG]`, or a directory.
 */
export function parseBuildContexts(values: readonly string[]): Map<string, NamedContext> {
  const out = new Map<string, NamedContext>();
  for (const v of values) {
    const bad = (why: string): never => {
      throw new UserError(`invalid --build-context ${JSON.stringify(v)}: ${why}`);
    };
    const eq = v.indexOf('=');
    if (eq <= 0) bad('expected NAME=docker-image://REF, NAME=oci-layout://DIR or NAME=DIR');
    const name = v.slice(0, eq);
    const source = v.slice(eq + 1);
    if (out.has(name)) bad(`${name} is given twice`);
    if (source.startsWith('docker-image://')) {
      const ref = source.slice('docker-image://'.length);
      try {
        parseReference(ref);
      } catch (e) {
        bad(e instanceof UserError ? e.message : String(e));
      }
      out.set(name, { kind: 'image', ref });
    } else if (source.startsWith('oci-layout://')) {
      const rest = source.slice('oci-layout://'.length);
      const at = rest.lastIndexOf(':');
      const dir = at > rest.lastIndexOf('/') ? rest.slice(0, at) : rest;
      const tag = at > rest.lastIndexOf('/') ? rest.slice(at + 1) : undefined;
      if (dir === '' || tag === '') bad('expected oci-layout://DIR[:TAG]');
      if (!existsSync(resolve(dir, 'index.json'))) bad(`${dir} is not an OCI layout (no index.json)`);
      out.set(name, { kind: 'oci-layout', dir: resolve(dir), ...(tag !== undefined && { tag }) });
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
      bad(`unsupported source ${source.split('://')[0]}://; expected docker-image://, oci-layout:// or a directory`);
    } else {
      if (source === '' || !existsSync(source)) bad(`${source || '""'} is not a directory`);
      out.set(name, { kind: 'dir', dir: resolve(source) });
    }
  }
  return out;
}

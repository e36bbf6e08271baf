/**
 * Parsed Dockerfiles, kept under `<root>/cache/parsed/` so that a build of
 * a Dockerfile seen before neither loads the parser nor runs it (setting up
 * the grammar and parsing took 20–30 ms of every cold build).
 *
 * An entry is keyed by the sha256 of the text, the file name the AST's
 * locations carry, and the tsbuild build that parsed it: the bundler sets
 * `TSBUILD_SOURCE_HASH` to a hash of every source file it bundled
 * (scripts/bundle.mjs), so a changed parser never reads an old entry.
 * tsbuild run from source has no such hash and parses every time. An entry
 * that cannot be read is parsed again; a text that does not parse is never
 * stored (its error is reported as usual).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dockerfile } from '../parser/ast.ts';
import { writeFileAtomic } from '../write-file-atomic.ts';

declare const TSBUILD_SOURCE_HASH: string | undefined;

/** The bundle's source hash; undefined when running from source. */
const SOURCE_HASH = typeof TSBUILD_SOURCE_HASH === 'string' ? TSBUILD_SOURCE_HASH : undefined;

/** `parseDockerfile(text, file)`, answered from the cache under `root` when this build parsed the same text before. */
export async function parseDockerfileCached(root: string, text: string, file: string): Promise<Dockerfile> {
  const parse = async (): Promise<Dockerfile> => (await import('../parser/parse.ts')).parseDockerfile(text, file);
  if (SOURCE_HASH === undefined) return parse();
  const key = createHash('sha256').update(JSON.stringify([SOURCE_HASH, file, text])).digest('hex');
  const entry = join(root, 'cache', 'parsed', `${key}.json`);
  try {
    return JSON.parse(readFileSync(entry, 'utf8')) as Dockerfile;
  } catch {
    // not parsed before (or unreadable): parse it now
  }
  const ast = await parse();
  await writeFileAtomic(entry, JSON.stringify(ast));
  return ast;
}

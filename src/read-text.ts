import { readFileSync } from 'node:fs';

/** A file's UTF-8 text; undefined when it cannot be read (absent, gone meanwhile). Synchronous: for the small files of start-up and locks. */
export function readTextIfAny(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

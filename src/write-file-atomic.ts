import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomHex } from './random-hex.ts';

/**
 * Writes `data` to `file` so that readers see the old content or the new,
 * never a torn file: it goes to a temp file beside it (parent dirs made
 * first), which is then renamed over `file`. A failed write leaves no temp
 * file behind.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomHex(12)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const OFFSET_BASIS = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/**
 * The 64-bit FNV-1a hash of `text`'s UTF-8 bytes, as 16 hex digits: a short
 * stable file name for a key. The file keeps the key's full text, and its
 * reader compares it, so two keys with the same name only cost a miss. Not
 * a digest (two texts that clash are easy to make), and cheaper than
 * loading node:crypto (~5 ms) for the few short keys a rebuild the build
 * memo answers looks up.
 */
export function nameHash(text: string): string {
  let h = OFFSET_BASIS;
  for (const byte of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(byte)) * PRIME) & MASK;
  return h.toString(16).padStart(16, '0');
}

/**
 * Random lowercase hex for names that must not clash: temp files, session
 * ids, lock tokens. Unique, not secret: it comes from Math.random, which V8
 * seeds from the OS in every process. node:crypto would do as well, but
 * loading it costs ~5 ms, a tenth of a rebuild the build memo answers,
 * which never hashes anything.
 *
 *   const tmp = `${file}.${randomHex(12)}.tmp`;
 */
export function randomHex(length: number): string {
  let out = '';
  // 2^32 values per draw: Math.random gives 52 random bits
  while (out.length < length) out += Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return out.slice(0, length);
}

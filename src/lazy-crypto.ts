import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');

let loaded: NodeCrypto | undefined;

/**
 * node:crypto, loaded at its first use. Modules a rebuild answered by the
 * build memo loads (the stores, the stat cache) hash only on other paths;
 * a static import would cost that rebuild ~5 ms of module loading.
 *
 *   const digest = nodeCrypto().createHash('sha256').update(bytes).digest('hex');
 */
export function nodeCrypto(): NodeCrypto {
  loaded ??= createRequire(import.meta.url)('node:crypto') as NodeCrypto;
  return loaded;
}

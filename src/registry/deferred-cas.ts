/**
 * The certificate authorities of `NODE_EXTRA_CA_CERTS`, read when the first
 * HTTPS request needs them instead of at process start.
 *
 * Node reads and parses every certificate that variable names before it runs
 * any script: with the system bundle there (CI images often set it so) that
 * is 60 ms of every command, a fully cached build included. `bin/tsbuild`
 * therefore starts node with the path moved to `TSBUILD_DEFERRED_CA_CERTS`;
 * `httpsTrust` gives tsbuild's own HTTPS requests Node's roots plus those
 * certificates, and `childEnv` hands the variable back to the programs
 * tsbuild runs that may make HTTPS requests of their own.
 */
import { readFileSync } from 'node:fs';

const HANDOVER = 'TSBUILD_DEFERRED_CA_CERTS';

let trust: { file: string; cas: string[] } | undefined;

/**
 * The `ca` option for an HTTPS request: undefined when nothing was deferred
 * (Node's defaults, extra certificates included, then apply). A file that
 * cannot be read is left out with a warning, as Node itself does.
 */
export async function httpsTrust(env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  const file = env[HANDOVER];
  if (!file) return undefined;
  if (trust?.file !== file) {
    const extra: string[] = [];
    try {
      extra.push(readFileSync(file, 'utf8'));
    } catch (e) {
      process.emitWarning(`NODE_EXTRA_CA_CERTS: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); using the default certificate authorities`);
    }
    // node:tls is loaded only now: see http.ts
    trust = { file, cas: [...(await import('node:tls')).rootCertificates, ...extra] };
  }
  return trust.cas;
}

/** The environment for a child process: this one's, with `NODE_EXTRA_CA_CERTS` as the user set it. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = env[HANDOVER];
  if (!file) return env;
  const out: NodeJS.ProcessEnv = { ...env, NODE_EXTRA_CA_CERTS: file };
  delete out[HANDOVER];
  return out;
}

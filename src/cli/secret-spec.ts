import { UserError } from '../errors.ts';
import type { SecretSource } from '../executor/run-mounts.ts';

/** Splits docker's `k=v,k=v` option form. */
function fields(spec: string, flag: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UserError(`invalid --${flag} ${JSON.stringify(spec)}: expected key=value pairs`);
    m.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return m;
}

/**
 * `--secret id=X[,src=FILE|,env=VAR]` (as docker build): without `src` or
 * `env`, the value comes from the environment variable named like the id.
 */
export function parseSecrets(values: readonly string[]): Map<string, SecretSource> {
  const out = new Map<string, SecretSource>();
  for (const v of values) {
    const f = fields(v, 'secret');
    const id = f.get('id');
    if (!id) throw new UserError(`invalid --secret ${JSON.stringify(v)}: it needs id=NAME`);
    const file = f.get('src') ?? f.get('source');
    const env = f.get('env');
    out.set(id, file !== undefined ? { file } : { env: env ?? id });
  }
  return out;
}

/** `--ssh default` (uses $SSH_AUTH_SOCK) or `--ssh id=/path/to/agent.sock`. */
export function parseSsh(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const id = eq < 0 ? v : v.slice(0, eq);
    const socket = eq < 0 ? process.env.SSH_AUTH_SOCK : v.slice(eq + 1);
    if (socket === undefined || socket === '') throw new UserError(`--ssh ${v}: no socket given and SSH_AUTH_SOCK is not set`);
    out.set(id, socket);
  }
  return out;
}

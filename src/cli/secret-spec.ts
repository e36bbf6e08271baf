import { accessSync, constants, statSync } from 'node:fs';
import { UserError } from '../errors.ts';
import type { SecretSource } from '../executor/run-mounts.ts';

/** Splits docker's `k=v,k=v` option form; only `keys` are allowed. */
function fields(spec: string, flag: string, keys: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UserError(`invalid --${flag} ${JSON.stringify(spec)}: expected key=value pairs`);
    const key = part.slice(0, eq).trim();
    if (!keys.includes(key)) throw new UserError(`invalid --${flag} ${JSON.stringify(spec)}: unknown key ${JSON.stringify(key)} (expected ${keys.join(', ')})`);
    m.set(key, part.slice(eq + 1).trim());
  }
  return m;
}

/**
 * `--secret id=X[,src=FILE|,env=VAR][,type=file|env]` (as docker build):
 * without `src` or `env`, the value comes from the environment variable
 * named like the id. A named file must be readable now.
 */
export function parseSecrets(values: readonly string[]): Map<string, SecretSource> {
  const out = new Map<string, SecretSource>();
  for (const v of values) {
    const f = fields(v, 'secret', ['id', 'src', 'source', 'env', 'type']);
    const id = f.get('id');
    if (!id) throw new UserError(`invalid --secret ${JSON.stringify(v)}: it needs id=NAME`);
    const type = f.get('type');
    if (type !== undefined && type !== 'file' && type !== 'env') throw new UserError(`invalid --secret ${JSON.stringify(v)}: type is file or env, not ${JSON.stringify(type)}`);
    const file = f.get('src') ?? f.get('source') ?? (type === 'file' ? id : undefined);
    const env = f.get('env');
    if (file !== undefined && env !== undefined) throw new UserError(`invalid --secret ${JSON.stringify(v)}: give src or env, not both`);
    if (file !== undefined) {
      try {
        accessSync(file, constants.R_OK);
        if (!statSync(file).isFile()) throw new Error('not a file');
      } catch {
        throw new UserError(`invalid --secret ${JSON.stringify(v)}: cannot read the file ${file}`);
      }
    }
    out.set(id, file !== undefined ? { file } : { env: env ?? id });
  }
  return out;
}

/** `--ssh default` (uses $SSH_AUTH_SOCK) or `--ssh id=/path/to/agent.sock`; the socket must exist. */
export function parseSsh(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const id = eq < 0 ? v : v.slice(0, eq);
    if (id === '') throw new UserError(`invalid --ssh ${JSON.stringify(v)}: expected default or ID=SOCKET`);
    const socket = eq < 0 ? process.env.SSH_AUTH_SOCK : v.slice(eq + 1);
    if (socket === undefined || socket === '') throw new UserError(`--ssh ${v}: no socket given and SSH_AUTH_SOCK is not set`);
    let isSocket = false;
    try {
      isSocket = statSync(socket).isSocket();
    } catch {
      // reported below
    }
    if (!isSocket) throw new UserError(`invalid --ssh ${JSON.stringify(v)}: ${socket} is not a socket`);
    out.set(id, socket);
  }
  return out;
}

/**
 * Docker credential helpers: programs named `docker-credential-<name>` that
 * keep secrets in a system keychain. The protocol is one action per run
 * (`get`, `store`, `erase`) with its input on stdin and JSON on stdout.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { UserError } from '../errors.ts';
import { childEnv } from './deferred-cas.ts';

/** What a helper holds for one server: a username and a secret (password or identity token). */
export interface HelperCredentials {
  username: string;
  secret: string;
}

/** The user name helpers use to mark the secret as an identity token. */
export const IDENTITY_TOKEN_USER = '<token>';

/** A helper that hangs (a GUI prompt nobody answers) must not hang the build. */
const HELPER_TIMEOUT_MS = 60_000;

/** Whether `docker-credential-<name>` is an executable on PATH. */
export async function helperExists(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, `docker-credential-${name}`), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * Asks the helper for `server`'s credentials; undefined when it has none.
 * The helper's answer holds the secret, so it is never quoted in an error.
 */
export async function helperGet(name: string, server: string): Promise<HelperCredentials | undefined> {
  const r = await runHelper(name, 'get', server);
  if (r.code !== 0) {
    if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
    throw helperFailure(name, 'get', r);
  }
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new UserError(`docker-credential-${name} get: the answer is not JSON`);
  }
  const { Username, Secret } = (json ?? {}) as { Username?: unknown; Secret?: unknown };
  if (typeof Secret !== 'string' || Secret === '') return undefined;
  return { username: typeof Username === 'string' ? Username : '', secret: Secret };
}

/** Hands `server`'s credentials to the helper to keep. */
export async function helperStore(name: string, server: string, creds: HelperCredentials): Promise<void> {
  const r = await runHelper(name, 'store', JSON.stringify({ ServerURL: server, Username: creds.username, Secret: creds.secret }));
  if (r.code !== 0) throw helperFailure(name, 'store', r);
}

/** Makes the helper forget `server`; false when it had nothing for it. */
export async function helperErase(name: string, server: string): Promise<boolean> {
  const r = await runHelper(name, 'erase', server);
  if (r.code === 0) return true;
  if (/credentials not found/i.test(r.stdout + r.stderr)) return false;
  throw helperFailure(name, 'erase', r);
}

interface HelperRun {
  code: number;
  stdout: string;
  stderr: string;
}

function helperFailure(name: string, action: string, r: HelperRun): UserError {
  const said = (r.stderr.trim() || r.stdout.trim()).split('\n')[0];
  return new UserError(`docker-credential-${name} ${action} failed (exit ${r.code})${said ? `: ${said}` : ''}`);
}

function runHelper(name: string, action: string, input: string): Promise<HelperRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [action], { stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS, env: childEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (e) => reject(new UserError(`cannot run docker-credential-${name}: ${e.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // a helper that exits without reading its input makes this write fail; its exit status tells the story
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

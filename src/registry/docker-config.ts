import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.ts';

/** One registry's entry under `auths`, as Docker writes it. */
export interface AuthEntry {
  /** base64 of `username:password`. */
  auth?: string;
  username?: string;
  password?: string;
  /** An OAuth2 refresh token, exchanged at the token endpoint. */
  identitytoken?: string;
  /** A ready bearer token for the registry itself. */
  registrytoken?: string;
  [other: string]: unknown;
}

/**
 * The parts of Docker's `config.json` tsbuild reads and writes. Keys it does
 * not know are kept as they are when the file is rewritten.
 */
export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  /** Registry host → credential helper name (`docker-credential-<name>`). */
  credHelpers?: Record<string, string>;
  /** The helper for every registry without its own entry in credHelpers. */
  credsStore?: string;
  [other: string]: unknown;
}

/** `$DOCKER_CONFIG`, else `~/.docker`: the directory holding `config.json`. */
export function dockerConfigDir(): string {
  return process.env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** The `config.json` in a Docker config directory. */
export function dockerConfigPath(dir: string = dockerConfigDir()): string {
  return join(dir, 'config.json');
}

/** Docker Hub's historical name in config files and credential helpers. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The key Docker files a registry's credentials under: the hostname, except
 * for Docker Hub, which keeps its v1 URL. Credential helpers get this too.
 */
export function serverKey(registry: string): string {
  return DOCKER_HUB_ALIASES.has(registry) ? DOCKER_HUB_KEY : registry;
}

/**
 * Which registry a config key names. Keys come as bare hosts, as URLs with a
 * scheme and a path (`https://host/v1/`), and Docker Hub under any of its
 * names; all reduce to the host as references spell it.
 */
export function registryOfKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? 'docker.io' : host;
}

/** The `auths` entry for `registry`, whichever way its key is spelled. */
export function findAuthEntry(config: DockerConfigFile, registry: string): { key: string; entry: AuthEntry } | undefined {
  const want = registryOfKey(registry);
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (registryOfKey(key) === want && entry && typeof entry === 'object') return { key, entry };
  }
  return undefined;
}

/**
 * Reads `config.json`. A missing file is an empty config; a file that is not
 * a JSON object is a UserError naming it.
 */
export async function readDockerConfig(path: string = dockerConfigPath()): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UserError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${path} is not valid JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${path} is not a JSON object`);
  return json as DockerConfigFile;
}

/**
 * Replaces `config.json` atomically: the new content goes to a temp file
 * beside it, readable by the owner only (it holds credentials), which is
 * then renamed over the old one, so a crash never leaves a torn file.
 */
export async function writeDockerConfig(config: DockerConfigFile, path: string = dockerConfigPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.config.json.${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    // the mode given to writeFile is filtered by the umask; this is not
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new UserError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

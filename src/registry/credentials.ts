import { UserError } from '../errors.ts';
import { helperErase, helperExists, helperGet, helperStore, IDENTITY_TOKEN_USER } from './cred-helper.ts';
import {
  dockerConfigPath,
  findAuthEntry,
  readDockerConfig,
  serverKey,
  writeDockerConfig,
  type AuthEntry,
  type DockerConfigFile,
} from './docker-config.ts';

/**
 * A registry login. Exactly what the registry needs: a username and
 * password (HTTP Basic, or exchanged for a bearer token), an identity token
 * (an OAuth2 refresh token), or a registry token sent as the bearer token
 * itself. Never print any of it.
 */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
  /** Where they came from (`/root/.docker/config.json`, `docker-credential-pass`), for error messages. */
  source: string;
}

/** Finds the credentials for a registry host (`127.0.0.1:5000`, `docker.io`); undefined for anonymous access. */
export type CredentialLookup = (registry: string) => Promise<Credentials | undefined>;

/**
 * Credentials as Docker finds them in `DIR/config.json` (DIR defaults to
 * `$DOCKER_CONFIG`, else `~/.docker`), in Docker's order: the registry's own
 * `credHelpers` entry, then the `credsStore` helper, then the `auths` entry
 * (`auth` as base64 `user:password`, or `username`/`password`,
 * `identitytoken`, `registrytoken`). A helper that is not installed is
 * skipped, so a config written on another machine still works for what it
 * has in `auths`. The file is read on each lookup: a `tsbuild login` in
 * another shell takes effect at once.
 */
export function dockerCredentials(dir?: string): CredentialLookup {
  const path = dockerConfigPath(dir);
  return async (registry) => {
    const config = await readDockerConfig(path);
    const helper = helperFor(config, registry);
    if (helper && (await helperExists(helper))) {
      const got = await helperGet(helper, serverKey(registry));
      if (got) {
        const source = `docker-credential-${helper}`;
        return got.username === IDENTITY_TOKEN_USER
          ? { identityToken: got.secret, source }
          : { username: got.username, password: got.secret, source };
      }
    }
    const found = findAuthEntry(config, registry);
    return found ? fromAuthEntry(found.entry, path) : undefined;
  };
}

function helperFor(config: DockerConfigFile, registry: string): string | undefined {
  const own = config.credHelpers?.[registry] ?? config.credHelpers?.[serverKey(registry)];
  return own || config.credsStore || undefined;
}

function fromAuthEntry(entry: AuthEntry, source: string): Credentials | undefined {
  const creds: Credentials = { source };
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new UserError(`${source}: the auth entry is not base64 of user:password`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  } else if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    creds.username = entry.username;
    creds.password = entry.password;
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) creds.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === 'string' && entry.registrytoken) creds.registryToken = entry.registrytoken;
  return creds.password !== undefined || creds.identityToken || creds.registryToken ? creds : undefined;
}

/**
 * Saves a username and password for `registry` the way `docker login` does:
 * into the registry's credential helper when one is configured and
 * installed, else base64-encoded into `auths` of `config.json` (rewritten
 * atomically, mode 0600). Resolves to where they went, for the user.
 */
export async function saveCredentials(registry: string, username: string, password: string, dir?: string): Promise<string> {
  const path = dockerConfigPath(dir);
  const config = await readDockerConfig(path);
  const key = serverKey(registry);
  const helper = helperFor(config, registry);
  const auths = { ...config.auths };
  const existing = findAuthEntry(config, registry);
  if (existing) delete auths[existing.key];
  if (helper && (await helperExists(helper))) {
    await helperStore(helper, key, { username, secret: password });
    // Docker leaves an empty entry so `auths` still lists the registry
    auths[key] = {};
    await writeDockerConfig({ ...config, auths }, path);
    return `docker-credential-${helper}`;
  }
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  await writeDockerConfig({ ...config, auths }, path);
  return path;
}

/**
 * Forgets `registry`'s credentials: erases them from its credential helper
 * (when configured and installed) and drops its `auths` entry. Resolves to
 * false when there was nothing to forget.
 */
export async function removeCredentials(registry: string, dir?: string): Promise<boolean> {
  const path = dockerConfigPath(dir);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  let removed = false;
  if (helper && (await helperExists(helper))) removed = await helperErase(helper, serverKey(registry));
  const existing = findAuthEntry(config, registry);
  if (existing) {
    const auths = { ...config.auths };
    delete auths[existing.key];
    await writeDockerConfig({ ...config, auths }, path);
    removed = true;
  }
  return removed;
}

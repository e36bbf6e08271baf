import { UserError } from '../errors.ts';
import { removeCredentials, saveCredentials } from './credentials.ts';
import { registryOfKey } from './docker-config.ts';
import { discard } from './http.ts';
import { RegistrySession, type RegistryOptions } from './session.ts';
import { RegistryTransport } from './transport.ts';

export interface LoginOptions extends Pick<RegistryOptions, 'insecureRegistries' | 'retry'> {
  /** The Docker config directory; default `$DOCKER_CONFIG`, else `~/.docker`. */
  configDir?: string;
}

/**
 * `registry` as typed on a command line (`https://host:5000/`, `host:5000`,
 * `index.docker.io`) reduced to the host references use (`docker.io` for
 * Docker Hub).
 */
export function normaliseRegistry(input: string): string {
  const registry = registryOfKey(input.trim());
  if (!registry) throw new UserError(`invalid registry ${JSON.stringify(input)}`);
  return registry;
}

/**
 * Checks a username and password against `registry` (its `/v2/` endpoint,
 * through whichever auth scheme it asks for, as `docker login` does) and,
 * when they work, saves them (see saveCredentials). Resolves to where they
 * were saved. Wrong credentials are a UserError that never contains them.
 */
export async function login(registry: string, username: string, password: string, opts: LoginOptions = {}): Promise<string> {
  if (!username) throw new UserError('login: the username is empty');
  if (!password) throw new UserError('login: the password is empty');
  const session = new RegistrySession({
    ...opts,
    credentials: () => Promise.resolve({ username, password, source: 'the login' }),
  });
  const transport = new RegistryTransport(session, { registry, repository: '' });
  await discard(await transport.request('/v2/', { what: 'login' }));
  return saveCredentials(registry, username, password, opts.configDir);
}

/** Forgets the saved login for `registry`; false when there was none. */
export async function logout(registry: string, opts: Pick<LoginOptions, 'configDir'> = {}): Promise<boolean> {
  return removeCredentials(registry, opts.configDir);
}

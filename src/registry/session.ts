import { Authenticator } from './auth.ts';
import { dockerCredentials, type CredentialLookup } from './credentials.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';

/** How the client reaches registries; every field is optional. */
export interface RegistryOptions {
  /**
   * Registries spoken to over plain HTTP besides loopback ones
   * (`--insecure-registry`): `host:port`, or a bare host for any of its ports.
   */
  insecureRegistries?: readonly string[];
  /** Where logins come from; default: Docker's config.json (see dockerCredentials). */
  credentials?: CredentialLookup;
  /** Retrying of transient failures; default DEFAULT_RETRY. */
  retry?: Partial<RetryPolicy>;
  /**
   * Shares authentication (tokens, learned schemes) with earlier calls that
   * used the same session. When given, the fields above are ignored in
   * favour of the session's own.
   */
  session?: RegistrySession;
}

/** Docker Hub's name in references is not the host that serves its API. */
const API_HOSTS: Record<string, string> = { 'docker.io': 'registry-1.docker.io' };

/**
 * Whether a registry host (`127.0.0.1:5000`, `localhost`, `[::1]:5000`) is on
 * this machine. Loopback registries are spoken to over plain http, as Docker
 * does, because test and local registries rarely have certificates.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry);
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function hostOf(registry: string): string {
  return registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
}

/**
 * `http://127.0.0.1:5000` or `https://registry-1.docker.io`: where `/v2/`
 * lives. Plain http for loopback registries and those listed as insecure.
 */
export function registryBaseUrl(registry: string, insecureRegistries: readonly string[] = []): string {
  const insecure =
    isLoopbackRegistry(registry) ||
    insecureRegistries.some((entry) => {
      const e = entry.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
      return e === registry || e === hostOf(registry);
    });
  return `${insecure ? 'http' : 'https'}://${API_HOSTS[registry] ?? registry}`;
}

/**
 * One client's view of the registries it talks to: options plus the
 * authentication state of each registry, so a token fetched for one request
 * serves the next ones. Create one per command (or per build) and pass it as
 * `session` to pulls and pushes that should share logins.
 */
export class RegistrySession {
  readonly retry: RetryPolicy;
  private readonly insecure: readonly string[];
  private readonly lookup: CredentialLookup;
  private readonly authenticators = new Map<string, Authenticator>();

  constructor(opts: Omit<RegistryOptions, 'session'> = {}) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.insecure = opts.insecureRegistries ?? [];
    this.lookup = opts.credentials ?? dockerCredentials();
  }

  /** The session `opts` asks for: its own, or a new one from its fields. */
  static of(opts: RegistryOptions): RegistrySession {
    return opts.session ?? new RegistrySession(opts);
  }

  baseUrl(registry: string): string {
    return registryBaseUrl(registry, this.insecure);
  }

  authenticator(registry: string): Authenticator {
    let auth = this.authenticators.get(registry);
    if (!auth) {
      auth = new Authenticator(registry, this.lookup, this.retry);
      this.authenticators.set(registry, auth);
    }
    return auth;
  }
}

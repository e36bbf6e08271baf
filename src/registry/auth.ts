import { UserError } from '../errors.ts';
import type { CredentialLookup, Credentials } from './credentials.ts';
import { discard, displayUrl, sendWithRetry, type HttpRequest, type HttpResponse } from './http.ts';
import type { RetryPolicy } from './retry.ts';

/** One parsed `WWW-Authenticate` challenge: `Bearer realm="…",service="…"`. */
export interface Challenge {
  /** Lower-cased: `bearer`, `basic`. */
  scheme: string;
  params: Record<string, string>;
}

const PARAM = /([A-Za-z][\w-]*)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;

/**
 * Parses the first challenge of a `WWW-Authenticate` header. Registries send
 * one challenge, so the rest (if any) is ignored; returns undefined when the
 * header is absent or has no scheme.
 */
export function parseChallenge(header: string | null): Challenge | undefined {
  const m = header?.trim().match(/^([A-Za-z][\w-]*)\s*(.*)$/s);
  if (!m?.[1]) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(PARAM)) {
    if (p[1]) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** The token scope for a repository: `repository:team/app:pull,push`. */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}

/** Token lifetime when the token server does not say (the distribution spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;

interface Token {
  value: string;
  /** performance.now() after which the token is not used any more. */
  expiresAt: number;
}

/**
 * The authentication state of one registry, shared by every request to it
 * in a session.
 *
 * Requests start anonymous. The first 401 tells which scheme the registry
 * wants; from then on every request carries it up front: HTTP Basic with the
 * stored credentials, or a bearer token from the challenge's realm, asked
 * for with the request's scopes (with Basic credentials when there are some,
 * else anonymously) and reused for those scopes until shortly before it
 * expires. Concurrent requests share one token request.
 *
 * A request is retried after a 401 at most once (see `challenged`), and
 * refused credentials are never tried again by any request of the session,
 * so bad credentials cost two requests, not a storm.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  /** Set once the token server turned our credentials down: every later request fails with it. */
  private refused: TokenRefused | undefined;
  /** Set once the registry turned our Basic credentials down: they are not sent again. */
  private basicRefused = false;
  private credentials: Promise<Credentials | undefined> | undefined;
  private readonly tokens = new Map<string, Promise<Token>>();

  constructor(
    readonly registry: string,
    private readonly lookup: CredentialLookup,
    private readonly retry: RetryPolicy,
  ) {}

  /**
   * The Authorization header for a request needing `scopes`, or undefined
   * while the registry has asked for nothing. May fetch a token; its
   * failures are UserErrors.
   */
  async header(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    const creds = await this.creds();
    if (challenge.scheme === 'basic') return creds?.password !== undefined && !this.basicRefused ? basic(creds) : undefined;
    if (challenge.scheme !== 'bearer') return undefined;
    if (this.refused) throw this.refused;
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    return `Bearer ${(await this.token(challenge, scopes, creds, signal)).value}`;
  }

  /**
   * Takes in a 401 answer to a request sent with `sent` (its Authorization
   * header, if any). Resolves to true when sending the request again with a
   * fresh `header()` may succeed: the registry asked for a scheme we have
   * (or, for bearer, may grant anonymously) and we had not tried it, or a
   * cached token was turned down and a new one is worth one try.
   */
  async challenged(res: HttpResponse, scopes: readonly string[], sent: string | undefined): Promise<boolean> {
    const challenge = parseChallenge(res.headers.get('www-authenticate'));
    if (!challenge) return false;
    this.challenge = challenge;
    if (challenge.scheme === 'basic') {
      if (sent !== undefined) this.basicRefused = true;
      return !this.basicRefused && (await this.creds())?.password !== undefined;
    }
    if (challenge.scheme !== 'bearer') return false;
    if (sent === undefined) return true;
    // a token that lacks the scope will not gain it by being fetched again
    if (challenge.params.error === 'insufficient_scope') return false;
    this.tokens.delete(scopeKey(scopes));
    return !(await this.creds())?.registryToken;
  }

  /** Why the registry still says 401 after `challenged` declined: for the error message. */
  async refusal(): Promise<string> {
    const creds = await this.creds();
    const scheme = this.challenge?.scheme;
    if (scheme && scheme !== 'basic' && scheme !== 'bearer') return `the registry asks for ${scheme} authentication, which tsbuild does not speak`;
    if (!creds) return `authentication required: no credentials for ${this.registry} (run tsbuild login ${this.registry})`;
    return `the credentials for ${this.registry} from ${creds.source} were refused or lack access`;
  }

  private creds(): Promise<Credentials | undefined> {
    this.credentials ??= this.lookup(this.registry);
    return this.credentials;
  }

  private token(challenge: Challenge, scopes: readonly string[], creds: Credentials | undefined, signal?: AbortSignal): Promise<Token> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached) {
      return cached.then((t) => (performance.now() < t.expiresAt ? t : this.refetch(key, challenge, scopes, creds, signal)));
    }
    return this.refetch(key, challenge, scopes, creds, signal);
  }

  private refetch(key: string, challenge: Challenge, scopes: readonly string[], creds: Credentials | undefined, signal?: AbortSignal): Promise<Token> {
    const pending = this.tokens.get(key);
    const fresh = (async () => {
      // another request may have refreshed it meanwhile
      const latest = pending && (await pending.catch(() => undefined));
      if (latest && performance.now() < latest.expiresAt) return latest;
      try {
        return await requestToken(this.registry, challenge, scopes, creds, this.retry, signal);
      } catch (e) {
        if (e instanceof TokenRefused) this.refused = e;
        throw e;
      }
    })();
    this.tokens.set(key, fresh);
    fresh.catch(() => {
      if (this.tokens.get(key) === fresh) this.tokens.delete(key);
    });
    return fresh;
  }
}

/** The token server turned the credentials (or their absence) down: final for the session. */
class TokenRefused extends UserError {}

function basic(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
}

function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

/**
 * Asks the challenge's realm for a bearer token covering `scopes`: a GET
 * (with Basic credentials when there are some) per the distribution token
 * spec, or the OAuth2 refresh-token POST when the login is an identity token.
 */
async function requestToken(
  registry: string,
  challenge: Challenge,
  scopes: readonly string[],
  creds: Credentials | undefined,
  retry: RetryPolicy,
  signal?: AbortSignal,
): Promise<Token> {
  const realm = challenge.params.realm;
  let url: URL;
  try {
    url = new URL(realm ?? '');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http');
  } catch {
    throw new UserError(`registry ${registry} asks for a bearer token but names no usable token server (realm ${JSON.stringify(realm ?? '')})`);
  }
  const service = challenge.params.service;
  let init: HttpRequest;
  if (creds?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'tsbuild' });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) };
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    init = creds?.password !== undefined ? { headers: { authorization: basic(creds) } } : {};
  }

  const where = `token server ${displayUrl(url.href)} for ${registry}`;
  let res: HttpResponse;
  try {
    res = (await sendWithRetry(url.href, () => init, retry, signal)).response;
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw new UserError(`cannot reach ${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (res.status === 401 || res.status === 403) {
    await discard(res);
    throw new TokenRefused(
      creds
        ? `${where}: the credentials from ${creds.source} were refused (HTTP ${res.status})`
        : `${where}: authentication required (HTTP ${res.status}); no credentials for ${registry} (run tsbuild login ${registry})`,
    );
  }
  if (!res.ok) {
    await discard(res);
    throw new UserError(`${where} answered HTTP ${res.status}`);
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new UserError(`${where} sent a response that is not JSON`);
  }
  const value = typeof body.token === 'string' && body.token ? body.token : body.access_token;
  if (typeof value !== 'string' || !value) throw new UserError(`${where} sent no token`);
  const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
  // stop using it a little early: it must still be valid when the registry checks it
  return { value, expiresAt: performance.now() + seconds * 900 };
}

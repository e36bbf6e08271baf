/**
 * The Bearer token flow of the distribution spec, in front of a real test
 * registry: the test double for an auth server, which cannot be had here.
 *
 *   const auth = await startTokenServer(reg.host, { username: 'alice', password: 'pw' });
 *   after(() => auth.stop());
 *   await pullImage(parseReference(`${auth.host}/busybox:1.35`), store, { credentials });
 *
 * `GET /token?service=…&scope=…` (HTTP Basic with the one user) issues a
 * random token for the scopes asked, valid `expiresIn` seconds; so does the
 * OAuth2 form `POST /token` (`grant_type=refresh_token`) given the
 * `identityToken`, answering with `access_token` as OAuth2 servers do. Every
 * `/v2/` request must carry `Authorization: Bearer <token>` whose scopes
 * cover it (pull for GET/HEAD, push for the rest, pull on a mount's
 * source); else it gets 401 with a `WWW-Authenticate: Bearer` challenge,
 * as Docker Hub and distribution's token auth do. Authorised requests are
 * forwarded, without the token, to the registry.
 */
import { randomBytes } from 'node:crypto';
import { startRegistryProxy, type ProxyContext, type RegistryProxy } from './registry-proxy.ts';

export interface TokenServerOptions {
  username: string;
  password: string;
  /** Token lifetime sent as `expires_in`, and enforced; default 300. */
  expiresIn?: number;
  /** The refresh token the OAuth2 POST accepts; without it, that form is refused. */
  identityToken?: string;
}

export interface TokenServer extends RegistryProxy {
  /** Every token request, in order: its scopes and whether credentials came with it. */
  tokenRequests: { scopes: string[]; authenticated: boolean }[];
  /** Makes every token issued so far invalid, as a registry's key rotation would. */
  revokeAll(): void;
}

const SERVICE = 'tsbuild-test-registry';

export async function startTokenServer(target: string, opts: TokenServerOptions): Promise<TokenServer> {
  const tokens = new Map<string, { scopes: Set<string>; expiresAt: number }>();
  const tokenRequests: TokenServer['tokenRequests'] = [];
  const expiresIn = opts.expiresIn ?? 300;
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  let host = '';

  const grant = (scopes: string[]): string => {
    const token = randomBytes(16).toString('hex');
    tokens.set(token, { scopes: new Set(scopes.flatMap(expandScope)), expiresAt: Date.now() + expiresIn * 1000 });
    return token;
  };
  const refuse = (c: ProxyContext): void => c.answer(401, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));

  const issue = (c: ProxyContext): void => {
    const url = new URL(c.req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const authorization = c.req.headers.authorization;
    tokenRequests.push({ scopes, authenticated: authorization !== undefined });
    if (authorization !== expected || url.searchParams.get('service') !== SERVICE) return refuse(c);
    c.answer(200, JSON.stringify({ token: grant(scopes), expires_in: expiresIn, issued_at: new Date().toISOString() }));
  };

  const exchange = (c: ProxyContext): void => {
    let body = '';
    c.req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    c.req.on('end', () => {
      const form = new URLSearchParams(body);
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      tokenRequests.push({ scopes, authenticated: form.has('refresh_token') });
      const ok = opts.identityToken && form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === opts.identityToken;
      if (!ok || form.get('service') !== SERVICE) return refuse(c);
      c.answer(200, JSON.stringify({ access_token: grant(scopes), expires_in: expiresIn }));
    });
  };

  const guard = (c: ProxyContext): void => {
    const needed = neededScopes(c);
    const bearer = /^Bearer (\S+)$/.exec(c.req.headers.authorization ?? '')?.[1];
    const grant = bearer ? tokens.get(bearer) : undefined;
    const valid = grant !== undefined && grant.expiresAt > Date.now();
    const missing = needed.find((s) => !grant?.scopes.has(s));
    if (valid && missing === undefined) {
      const headers = { ...c.req.headers };
      delete headers.authorization;
      return c.forward({ headers });
    }
    const scope = missing ? `,scope="${missing}"` : '';
    const error = valid ? ',error="insufficient_scope"' : bearer ? ',error="invalid_token"' : '';
    c.answer(401, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }), {
      'www-authenticate': `Bearer realm="http://${host}/token",service="${SERVICE}"${scope}${error}`,
    });
  };

  const proxy = await startRegistryProxy(target, (c) => {
    if (c.path !== '/token') return guard(c);
    if (c.method === 'POST') return exchange(c);
    issue(c);
  });
  host = proxy.host;
  return { ...proxy, tokenRequests, revokeAll: () => tokens.clear() };
}

/** `repository:app:pull,push` → the single grants `repository:app:pull`, `repository:app:push`. */
function expandScope(scope: string): string[] {
  const colon = scope.lastIndexOf(':');
  if (colon < 0) return [];
  return scope
    .slice(colon + 1)
    .split(',')
    .map((action) => `${scope.slice(0, colon)}:${action}`);
}

/** The single grants a /v2/ request needs. `/v2/` itself needs only a valid token. */
function neededScopes(c: ProxyContext): string[] {
  const m = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(c.path);
  if (!m) return [];
  const repo = m[1];
  const reading = c.method === 'GET' || c.method === 'HEAD';
  const needed = [`repository:${repo}:pull`];
  if (!reading) needed.push(`repository:${repo}:push`);
  const from = new URL(c.req.url ?? '/', 'http://x').searchParams.get('from');
  if (from) needed.push(`repository:${from}:pull`);
  return needed;
}

import { UserError } from '../errors.ts';
import { formatReference, type Reference } from '../image/reference.ts';
import { authorize } from './auth.ts';

/** Docker Hub's name in references is not the host that serves its API. */
const API_HOSTS: Record<string, string> = { 'docker.io': 'registry-1.docker.io' };

/**
 * Whether a registry host (`127.0.0.1:5000`, `localhost`, `[::1]:5000`) is on
 * this machine. Loopback registries are spoken to over plain http, as Docker
 * does, because test and local registries rarely have certificates.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** `http://127.0.0.1:5000` or `https://registry-1.docker.io`: where `/v2/` lives. */
export function registryBaseUrl(registry: string): string {
  const scheme = isLoopbackRegistry(registry) ? 'http' : 'https';
  return `${scheme}://${API_HOSTS[registry] ?? registry}`;
}

export interface GetOptions {
  /** Media types for the Accept header. */
  accept?: readonly string[];
  signal?: AbortSignal;
  /** What is being fetched, for error messages: `blob sha256:…`. Omit for the reference itself. */
  what?: string;
}

/**
 * Anonymous GETs against one repository's `/v2/<repository>/` endpoints.
 *
 * Every failure leaves as a one-line UserError naming the registry,
 * repository and what failed; a 2xx Response is the only thing returned.
 * Callers own the body of that response.
 */
export class RegistryTransport {
  readonly baseUrl: string;

  constructor(readonly ref: Reference) {
    this.baseUrl = registryBaseUrl(ref.registry);
  }

  /** GETs `/v2/<repository>/<path>`, e.g. `manifests/1.35` or `blobs/sha256:…`. */
  async get(path: string, opts: GetOptions = {}): Promise<Response> {
    const url = `${this.baseUrl}/v2/${this.ref.repository}/${path}`;
    const headers: Record<string, string> = {};
    if (opts.accept) headers.accept = opts.accept.join(', ');
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow', ...(opts.signal && { signal: opts.signal }) });
    } catch (e) {
      throw this.networkError(e);
    }
    if (res.status === 401) {
      await discard(res);
      await authorize(this.ref, res);
    }
    if (!res.ok) throw this.fail(opts.what, await httpFailure(res));
    return res;
  }

  /** `REF: WHAT: REASON`, the shape of every registry error. */
  fail(what: string | undefined, reason: string): UserError {
    return new UserError(`${formatReference(this.ref)}: ${what ? `${what}: ` : ''}${reason}`);
  }

  /**
   * Turns a failure of fetch, or of reading a response body, into a
   * UserError. Aborts pass through untouched so that cancelling stays
   * distinguishable from failing.
   */
  networkError(e: unknown, what?: string): Error {
    if (e instanceof UserError || isAbort(e)) return e as Error;
    const code = errorCode(e);
    if (code && CONNECT_CODES.has(code)) {
      return new UserError(`cannot reach registry ${this.ref.registry}: ${CONNECT_CODES.get(code)}`);
    }
    return this.fail(what, `connection failed (${innermostMessage(e)})`);
  }
}

/** Errors where no HTTP exchange happened at all, worded for people. */
const CONNECT_CODES = new Map<string, string>([
  ['ECONNREFUSED', 'connection refused'],
  ['ENOTFOUND', 'host not found'],
  ['EAI_AGAIN', 'host name lookup failed'],
  ['EHOSTUNREACH', 'host unreachable'],
  ['ENETUNREACH', 'network unreachable'],
  ['ETIMEDOUT', 'connection timed out'],
  ['UND_ERR_CONNECT_TIMEOUT', 'connection timed out'],
]);

/** The registry's own wording from its `{"errors":[{"message"}]}` body, else the status text. */
async function httpFailure(res: Response): Promise<string> {
  let detail = '';
  try {
    const body: unknown = JSON.parse(await res.text());
    const first = (body as { errors?: Array<{ message?: unknown; code?: unknown }> }).errors?.[0];
    const msg = first?.message ?? first?.code;
    if (typeof msg === 'string') detail = msg;
  } catch {
    // not JSON: fall back to the status text
  }
  if (!detail) detail = res.statusText.toLowerCase() || 'request failed';
  return `${detail} (HTTP ${res.status})`;
}

/** Frees the connection of a response whose body is not wanted. */
async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // the body may already be gone; nothing to free then
  }
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/**
 * The system error code behind a fetch failure. undici wraps it in
 * `TypeError('fetch failed', { cause })`, and when a host has several
 * addresses the cause is an AggregateError of per-address errors.
 */
function errorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 8; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (cur instanceof AggregateError && cur.errors.length > 0) cur = cur.errors[0];
    else cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function innermostMessage(e: unknown): string {
  let msg = e instanceof Error ? e.message : String(e);
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 8; depth++) {
    if (cur.message) msg = cur.message;
    cur = cur.cause;
  }
  return msg;
}

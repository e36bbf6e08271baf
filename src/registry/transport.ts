import { UserError } from '../errors.ts';
import { formatReference, type Reference } from '../image/reference.ts';
import { repositoryScope } from './auth.ts';
import { discard, sendWithRetry, type HttpResponse, type RequestBody } from './http.ts';
import { errorCode, isTransientNetworkError, isTransientStatus } from './retry.ts';
import type { RegistrySession } from './session.ts';

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Media types for the Accept header. */
  accept?: readonly string[];
  /** Makes the request body, once per try (see RequestFactory). */
  body?: () => RequestBody;
  signal?: AbortSignal;
  /** What is being fetched, for error messages: `blob sha256:…`. Omit for the reference itself. */
  what?: string;
  /** Statuses handed back instead of thrown besides 2xx, e.g. 404 for an existence check. */
  allow?: readonly number[];
  /** Token scopes this request needs besides the transport's own (a mount's source repository). */
  scopes?: readonly string[];
  /**
   * false: one try only, for requests that are not safe to repeat (an
   * upload whose body may have been half taken); the caller retries the
   * whole operation instead, guided by RegistryError.transient.
   */
  retry?: boolean;
}

/**
 * A failed registry request, as a UserError the CLI prints as it is. Says
 * whether trying again later might work, for callers that retry whole
 * operations themselves.
 */
export class RegistryError extends UserError {
  constructor(
    message: string,
    /** The HTTP status that failed the request, if one came. */
    readonly status: number | undefined,
    /** A dropped connection, 429 or 5xx: not the request's fault. */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/**
 * Requests against one repository's `/v2/<repository>/` endpoints, with
 * authentication and retries.
 *
 * Transient failures are retried (see http.ts); a 401 goes through the
 * registry's Authenticator and the request is sent once more when that may
 * help. Every failure leaves as a one-line UserError naming the registry,
 * repository and status; the response handed back is 2xx or a status in
 * `allow`, and callers own its body.
 */
export class RegistryTransport {
  readonly baseUrl: string;
  private readonly scopes: readonly string[];
  /** How errors name the target: the reference, or the bare registry. */
  private readonly label: string;

  /**
   * `access` decides the token scope asked for: `pull`, or `push` (which
   * includes pull). A reference with an empty repository addresses the
   * registry itself (`/v2/`), with no scope.
   */
  constructor(
    readonly session: RegistrySession,
    readonly ref: Reference,
    access: 'pull' | 'push' = 'pull',
  ) {
    this.baseUrl = session.baseUrl(ref.registry);
    this.scopes = ref.repository ? [repositoryScope(ref.repository, access === 'push' ? 'pull,push' : 'pull')] : [];
    this.label = ref.repository ? formatReference(ref) : `registry ${ref.registry}`;
  }

  /** `/v2/<repository>/<path>`; an absolute URL (an upload location) is taken as it is. */
  url(path: string): string {
    if (/^https?:\/\//.test(path)) return path;
    if (path.startsWith('/')) return new URL(path, this.baseUrl).href;
    return `${this.baseUrl}/v2/${this.ref.repository}/${path}`;
  }

  /** GETs `/v2/<repository>/<path>`, e.g. `manifests/1.35` or `blobs/sha256:…`. */
  get(path: string, opts: Omit<RequestOptions, 'method'> = {}): Promise<HttpResponse> {
    return this.request(path, opts);
  }

  async request(path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const url = this.url(path);
    const auth = this.session.authenticator(this.ref.registry);
    const scopes = opts.scopes ? [...this.scopes, ...opts.scopes] : this.scopes;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.accept) headers.accept = opts.accept.join(', ');
    const policy = opts.retry === false ? { ...this.session.retry, attempts: 1 } : this.session.retry;
    let sentAuth: string | undefined;
    for (let authTries = 0; ; authTries++) {
      let sent;
      try {
        sent = await sendWithRetry(
          url,
          async () => {
            sentAuth = await auth.header(scopes, opts.signal);
            return {
              method: opts.method ?? 'GET',
              headers: sentAuth ? { ...headers, authorization: sentAuth } : headers,
              ...(opts.body && { body: opts.body() }),
            };
          },
          policy,
          opts.signal,
        );
      } catch (e) {
        // sendWithRetry gives up on a transient failure only when out of tries
        throw this.networkError(e, opts.what, isTransientNetworkError(e) ? policy.attempts : 1);
      }
      const { response: res, attempts } = sent;
      if (res.status === 401) {
        await discard(res);
        if (authTries === 0 && (await auth.challenged(res, scopes, sentAuth))) continue;
        throw this.fail(opts.what, `${await auth.refusal()} (HTTP 401)`, 401);
      }
      if (res.ok || opts.allow?.includes(res.status)) return res;
      const reason = `${await httpFailure(res)}${attempts > 1 ? ` after ${attempts} attempts` : ''}`;
      throw this.fail(opts.what, reason, res.status);
    }
  }

  /** `REF: WHAT: REASON`, the shape of every registry error; transient when `status` is. */
  fail(what: string | undefined, reason: string, status?: number): RegistryError {
    const transient = status !== undefined && isTransientStatus(status);
    return new RegistryError(`${this.label}: ${what ? `${what}: ` : ''}${reason}`, status, transient);
  }

  /**
   * Turns a failure of a request, or of reading a response body, into a
   * UserError. Aborts pass through untouched so that cancelling stays
   * distinguishable from failing. `attempts` says how often it was tried.
   */
  networkError(e: unknown, what?: string, attempts = 1): Error {
    if (e instanceof UserError || isAbort(e)) return e as Error;
    const code = errorCode(e);
    const plain = code && CONNECT_CODES.get(code);
    if (plain) return new RegistryError(`cannot reach registry ${this.ref.registry}: ${plain}`, undefined, false);
    if (code === 'EPROTO' && /wrong version number/.test(String((e as Error).message))) {
      const hint = `it answers in plain HTTP; name it as an insecure registry (--insecure-registry ${this.ref.registry})`;
      return new RegistryError(`cannot reach registry ${this.ref.registry} over HTTPS: ${hint}`, undefined, false);
    }
    const message = `${this.label}: ${what ? `${what}: ` : ''}connection failed (${networkReason(e)})${attempts > 1 ? ` after ${attempts} attempts` : ''}`;
    return new RegistryError(message, undefined, isTransientNetworkError(e));
  }
}

/** Errors where no HTTP exchange happened at all, worded for people. */
const CONNECT_CODES = new Map<string, string>([
  ['ECONNREFUSED', 'connection refused'],
  ['ENOTFOUND', 'host not found'],
  ['EAI_AGAIN', 'host name lookup failed'],
  ['EHOSTUNREACH', 'host unreachable'],
  ['ENETUNREACH', 'network unreachable'],
]);

/** The registry's own wording from its `{"errors":[{"message"}]}` body, else the status text. */
async function httpFailure(res: HttpResponse): Promise<string> {
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

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** Node's words for a broken connection, made plainer where they are cryptic. */
function networkReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  // node:http's name for a response body cut off before its end
  if (message === 'aborted') return 'the registry closed the connection mid-transfer';
  return message;
}

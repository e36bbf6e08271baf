/**
 * HTTP for the registry client, on node:http and node:https.
 *
 * Why not fetch: blobs are hundreds of megabytes, and fetch's web streams
 * and its JavaScript HTTP parser cost about a third more CPU per byte than
 * node:http's native parser and plain streams, enough to lose to skopeo on
 * a loopback registry. What fetch gave for free is done here: following
 * redirects (blob downloads are often redirected to object storage, and an
 * Authorization header must not follow them to another origin) and timing
 * out a stalled peer.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { httpsTrust } from './deferred-cas.ts';
import { backoff, isTransientNetworkError, isTransientStatus, type RetryPolicy } from './retry.ts';

/** What request bodies are made of: bytes, or a stream of them (sent as they come). */
export type RequestBody = Uint8Array | AsyncIterable<Uint8Array>;

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: RequestBody;
}

/**
 * Builds one attempt's request. Called again for every retry and redirect,
 * so a body is made fresh each time (a stream can be read only once) and an
 * Authorization header can change between attempts.
 */
export type RequestFactory = () => HttpRequest | Promise<HttpRequest>;

/** A response whose body is a Node stream; read it, or `discard` it. */
export class HttpResponse {
  constructor(
    /** The body, as it arrives. */
    readonly body: IncomingMessage,
    /** The URL that answered, after redirects. */
    readonly url: string,
  ) {}

  get status(): number {
    return this.body.statusCode ?? 0;
  }

  get statusText(): string {
    return this.body.statusMessage ?? '';
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Header lookup, fetch style: case-insensitive, repeated headers joined. */
  readonly headers = {
    get: (name: string): string | null => {
      const v = this.body.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };

  /** The whole body as text, for error bodies and token answers: at most MAX_TEXT bytes. */
  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.body) {
      total += (chunk as Buffer).length;
      if (total > MAX_TEXT) {
        this.body.destroy();
        break;
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

const MAX_TEXT = 1 << 20;
const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** A peer silent this long (no byte either way) is given up on, as a transient failure. */
const IDLE_TIMEOUT_MS = 60_000;

/** The last answer a request got, and how many tries it took. */
export interface Sent {
  response: HttpResponse;
  attempts: number;
}

/**
 * One request with retries on transient failures (see retry.ts): a dropped
 * connection, 429 or 5xx is tried again after a backoff, up to
 * `policy.attempts` tries in all. Resolves to the last response whatever its
 * status, so callers decide what a 4xx means; rejects with the last network
 * error when every try failed to get an answer, or at once when the failure
 * is not transient (refused connection, unknown host, abort).
 */
export async function sendWithRetry(url: string, init: RequestFactory, policy: RetryPolicy, signal?: AbortSignal): Promise<Sent> {
  for (let attempt = 1; ; attempt++) {
    let response: HttpResponse;
    try {
      response = await send(url, init, signal);
    } catch (e) {
      if (attempt >= policy.attempts || !isTransientNetworkError(e)) throw e;
      await backoff(policy, attempt, null, signal);
      continue;
    }
    if (attempt >= policy.attempts || !isTransientStatus(response.status)) return { response, attempts: attempt };
    await discard(response);
    await backoff(policy, attempt, response.headers.get('retry-after'), signal);
  }
}

/** One request, following redirects; the Authorization header stays behind when one leaves the origin. */
export async function send(url: string, init: RequestFactory, signal?: AbortSignal): Promise<HttpResponse> {
  let current = new URL(url);
  let method: string | undefined;
  let keepBody = true;
  for (let redirects = 0; ; redirects++) {
    const req = await init();
    const headers: Record<string, string> = { 'user-agent': 'tsbuild', ...req.headers };
    if (current.origin !== new URL(url).origin) delete headers.authorization;
    const message = await exchange(current, method ?? req.method ?? 'GET', headers, keepBody ? req.body : undefined, signal);
    const location = message.headers.location;
    if (!REDIRECTS.has(message.statusCode ?? 0) || !location) return new HttpResponse(message, current.href);
    message.resume();
    if (redirects >= MAX_REDIRECTS) throw Object.assign(new Error(`more than ${MAX_REDIRECTS} redirects`), { code: 'ERR_TOO_MANY_REDIRECTS' });
    // 303, and 301/302 after a POST, turn into a GET without a body, as browsers and fetch do
    const status = message.statusCode ?? 0;
    if (status === 303 || ((status === 301 || status === 302) && (method ?? req.method) === 'POST')) {
      method = 'GET';
      keepBody = false;
    }
    current = new URL(location, current);
  }
}

async function exchange(url: URL, method: string, headers: Record<string, string>, body: RequestBody | undefined, signal?: AbortSignal): Promise<IncomingMessage> {
  // loaded at the first request: node's HTTP and TLS modules take ~9 ms to load, and a build from local images makes none
  const request = url.protocol === 'https:' ? (await import('node:https')).request : url.protocol === 'http:' ? (await import('node:http')).request : undefined;
  if (!request) throw new Error(`unsupported URL scheme ${url.protocol}`);
  if (body instanceof Uint8Array) headers['content-length'] ??= String(body.length);
  else if (!body && method !== 'GET' && method !== 'HEAD') headers['content-length'] ??= '0';
  const ca = url.protocol === 'https:' ? await httpsTrust() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ...(signal && { signal }), ...(ca && { ca }) }, resolve);
    req.on('error', reject);
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('the registry stopped answering'), { code: 'ETIMEDOUT' })));
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    // a failed body read or write surfaces as the request's error
    else pipeline(Readable.from(body, { objectMode: false }), req).catch((e: unknown) => req.destroy(e as Error));
  });
}

/**
 * Frees a response whose body is not wanted: a small one is read to its end
 * so its connection can serve the next request; a big one is cut off.
 */
export async function discard(res: HttpResponse): Promise<void> {
  // even an empty body must be read to its end: only then does the connection go back to the pool
  if (res.body.readableEnded || res.body.destroyed) return;
  let read = 0;
  try {
    for await (const chunk of res.body) {
      read += (chunk as Buffer).length;
      if (read > MAX_DISCARD) {
        res.body.destroy();
        return;
      }
    }
  } catch {
    // the body may already be gone; nothing to free then
  }
}

/** More unwanted body than this is not worth reading just to keep a connection. */
const MAX_DISCARD = 64 << 10;

/** A URL fit for messages: no user info, no query string (upload URLs carry state tokens there). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

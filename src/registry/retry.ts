import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How hard the registry client tries before giving up on a request that
 * failed in a way that may pass: a dropped connection, 429, or a 5xx.
 * Authentication failures and other 4xx answers are never retried.
 */
export interface RetryPolicy {
  /** Tries per request, the first included; 1 disables retrying. */
  attempts: number;
  /** Wait before the first retry; each later one doubles it. */
  baseDelayMs: number;
  /** Cap on any single wait, a server's `Retry-After` included. */
  maxDelayMs: number;
}

/**
 * Five tries over about three seconds: enough to ride out a registry
 * restarting or a proxy hiccup, short enough that a registry that is really
 * down fails the build quickly.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };

/** HTTP statuses worth another try: rate limiting and server-side failures. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/**
 * Socket failures after a connection was made: a reset, a close mid-body, a
 * stalled peer. A refused connection or an unknown host is not among them:
 * nothing listens there, and retrying only delays the error.
 */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Whether a thrown request or body-read error is a transient network failure. */
export function isTransientNetworkError(e: unknown): boolean {
  const code = errorCode(e);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/**
 * Waits before retry number `retry` (1 for the first retry): exponential
 * with up to 20% jitter so parallel downloads do not retry in lockstep, or
 * the server's `Retry-After` (seconds or an HTTP date) when it sent one.
 * Rejects when `signal` aborts.
 */
export async function backoff(policy: RetryPolicy, retry: number, retryAfter: string | null, signal?: AbortSignal): Promise<void> {
  let ms = policy.baseDelayMs * 2 ** (retry - 1) * (1 + Math.random() * 0.2);
  const asked = retryAfterMs(retryAfter);
  if (asked !== undefined) ms = asked;
  await sleep(Math.min(ms, policy.maxDelayMs), undefined, signal ? { signal } : {});
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The system error code behind a request failure: on the error itself, on
 * its cause, or, when a host has several addresses and every one failed, on
 * the first of the AggregateError's per-address errors.
 */
export function errorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 8; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (cur instanceof AggregateError && cur.errors.length > 0) cur = cur.errors[0];
    else cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

import { UserError } from '../errors.ts';
import { formatReference, type Reference } from '../image/reference.ts';

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

/**
 * The authentication step of the transport, run when a registry answers 401.
 *
 * Only anonymous access exists today, so this always rejects with a UserError
 * saying what the registry asked for. The Bearer token exchange (GET the
 * realm with `service` and `scope=repository:<repo>:pull`) belongs here: it
 * will resolve to an `Authorization` header value that the transport retries
 * the request with, which is why it is async and takes the whole response.
 */
export async function authorize(ref: Reference, response: Response): Promise<never> {
  const challenge = parseChallenge(response.headers.get('www-authenticate'));
  const asked = challenge
    ? `${challenge.scheme === 'bearer' ? 'Bearer' : challenge.scheme}${challenge.params.realm ? ` via ${challenge.params.realm}` : ''}`
    : 'no challenge given';
  throw new UserError(
    `${formatReference(ref)}: registry ${ref.registry} requires authentication (${asked}); tsbuild can only pull anonymously so far`,
  );
}

import { UserError } from '../errors.ts';
import type { Descriptor, Platform } from '../image/oci.ts';

/** What a pull picks from a multi-platform index when the caller names no platform. */
export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** `linux/amd64`, `linux/arm64/v8`: the form `--platform` and error messages use. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** arm64 images are labelled both with and without `v8`; they are the same thing. */
function variantOf(p: Platform): string | undefined {
  if (p.architecture === 'arm64' && p.variant === undefined) return 'v8';
  return p.variant;
}

/**
 * Picks the index entry that runs on `want`: same os and architecture, and
 * the same variant when `want` names one. When `want` names no variant, an
 * entry whose normalised variant equals `want`'s own default (none, or `v8`
 * on arm64) wins over other variants. Entries without a platform (attestation
 * manifests, artifacts) never match. Ties go to the earlier entry, as the
 * index's author ordered them.
 */
export function choosePlatform(entries: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = entries.filter(
    (d) =>
      d.platform?.os === want.os &&
      d.platform.architecture === want.architecture &&
      (want.variant === undefined || variantOf(d.platform) === variantOf(want)),
  );
  return candidates.find((d) => d.platform && variantOf(d.platform) === variantOf(want)) ?? candidates[0];
}

/**
 * Parses `--platform`: `os/arch[/variant]` (`linux/arm64/v8`), or a bare
 * architecture, taken as linux. A UserError names what is wrong.
 */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length === 1 && parts[0]) return { os: 'linux', architecture: parts[0] };
  const [os, architecture, variant, ...rest] = parts;
  if (!os || !architecture || variant === '' || rest.length > 0) {
    throw new UserError(`invalid platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/arm64/v8`);
  }
  return { os, architecture, ...(variant && { variant }) };
}

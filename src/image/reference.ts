import { UserError } from '../errors.ts';
import type { Digest } from './oci.ts';

/**
 * An image reference, normalised as Docker does: `busybox` is
 * `docker.io/library/busybox:latest`; the first component is a registry host
 * only if it has a `.` or `:` or is `localhost`.
 */
export interface Reference {
  /** `docker.io`, `127.0.0.1:5000`, ... */
  registry: string;
  /** `library/busybox`, `team/app`, ... */
  repository: string;
  /** Absent only when a digest pins the reference. */
  tag?: string;
  digest?: Digest;
}

const DEFAULT_REGISTRY = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function parseReference(input: string): Reference {
  const bad = (why: string): never => {
    throw new UserError(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  };
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!DIGEST.test(d)) bad('digest must be sha256: and 64 lowercase hex characters');
    digest = d as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`tag ${JSON.stringify(tag)} is not valid`);
  }
  let registry = DEFAULT_REGISTRY;
  const first = rest.split('/')[0] ?? '';
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    rest = rest.slice(first.length + 1);
  }
  if (rest === '') bad('repository name is empty');
  for (const part of rest.split('/')) {
    if (!COMPONENT.test(part)) bad(`repository component ${JSON.stringify(part)} must be lowercase letters, digits and separators`);
  }
  if (registry === DEFAULT_REGISTRY && !rest.includes('/')) rest = `library/${rest}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: rest, ...(tag !== undefined && { tag }), ...(digest && { digest }) };
}

/** The fully qualified form: `docker.io/library/busybox:latest`, `host:5000/app@sha256:...`. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/**
 * The short form Docker shows and `docker load` expects in `RepoTags`:
 * `busybox:latest`, `team/app:1`, `127.0.0.1:5000/app:1` (digest dropped).
 */
export function familiarName(ref: Reference): string {
  let repo = ref.repository;
  if (ref.registry === 'docker.io' && repo.startsWith('library/') && !repo.slice('library/'.length).includes('/')) {
    repo = repo.slice('library/'.length);
  }
  const name = ref.registry === 'docker.io' ? repo : `${ref.registry}/${repo}`;
  return ref.tag !== undefined ? `${name}:${ref.tag}` : name;
}

/**
 * Every normalisation the conformance comparison applies, in one place, each
 * with the reason the two builders may legitimately differ there. Anything
 * not listed here is compared exactly. README.md repeats this list for
 * readers; keep the two in step.
 */
import type { FileFacts, ImageFacts } from './image.ts';

/** A normalisation and why it is fair. */
export interface Normalisation {
  id: string;
  applies: 'config' | 'filesystem' | 'layers';
  reason: string;
}

/** The list, as printed by `npm run conformance -- --normalisations`. */
export const NORMALISATIONS: readonly Normalisation[] = [
  {
    id: 'created',
    applies: 'config',
    reason:
      'BuildKit stamps the build wall-clock time; tsbuild uses SOURCE_DATE_EPOCH or the Unix epoch so the same inputs give the same digest (the better result).',
  },
  {
    id: 'history.created',
    applies: 'config',
    reason: 'Per-step times: wall clock in BuildKit, reproducible in tsbuild (as above). The base image entries are the same in both and stay compared through the other fields.',
  },
  {
    id: 'history.comment',
    applies: 'config',
    reason: 'Names the builder ("buildkit.dockerfile.v0" vs "tsbuild.dockerfile.v0"); it has no effect on running the image.',
  },
  {
    id: 'history.created_by builder marker',
    applies: 'config',
    reason: 'BuildKit appends " # buildkit" to RUN/COPY/ADD lines to name itself; that suffix is dropped from both, the rest of the line is compared.',
  },
  {
    id: 'config.ArgsEscaped',
    applies: 'config',
    reason:
      'A deprecated Windows-only flag (image spec: do not set). BuildKit v0.8 writes ArgsEscaped: true on every Linux image; later BuildKit only for Windows shell-form commands; Linux runtimes ignore it.',
  },
  {
    id: 'rootfs.diff_ids',
    applies: 'config',
    reason:
      'A DiffID hashes the layer tar bytes, which include mtimes and tar encoding choices that are not compared; only the number of layers is kept here, their contents are compared by the filesystem and layers columns.',
  },
  {
    id: 'null is absent',
    applies: 'config',
    reason: 'The image spec says an optional field set to null means absent; Go writes null for empty slices and maps, other writers omit them.',
  },
  {
    id: 'root directory',
    applies: 'filesystem',
    reason: "The image spec leaves the root directory's own attributes unspecified; layers may or may not carry a './' entry.",
  },
  {
    id: 'mtime',
    applies: 'filesystem',
    reason:
      'Not part of the compared facts: files made by RUN carry the wall-clock time of the run, so no two builds (even by one builder) agree on them.',
  },
  {
    id: 'whiteout form',
    applies: 'layers',
    reason:
      'An opaque whiteout (.wh..wh..opq) and the equivalent explicit .wh.<name> entries delete the same lower paths; layers are compared by what they delete, not by which form says it.',
  },
  {
    id: 'runtime mount points',
    applies: 'layers',
    reason:
      "BuildKit 0.8 leaves an `etc/` entry in every RUN layer: the parent of the /etc/hosts, /etc/resolv.conf and /etc/hostname mount points its runtime creates. They belong to the container, not the image; tsbuild keeps them out of layers. A layer's lone `etc/` entry (no path below it changed) is dropped on both sides, before 'empty layers'.",
  },
  {
    id: 'RUN --mount targets',
    applies: 'filesystem',
    reason:
      'BuildKit 0.8 leaves the mount point of each RUN --mount (and the parents it made) in the image as an empty dir or file; later BuildKit removes these stubs, and so does tsbuild. Paths that are --mount targets of the fixture (or their parents), empty, and present only in the BuildKit image are not compared.',
  },
  {
    id: 'COPY/ADD flags in created_by',
    applies: 'config',
    reason:
      'BuildKit 0.8 writes `COPY src dest`; the current BuildKit (the reference) writes `COPY --chown=… --chmod=… src dest`, which tsbuild follows. --chown and --chmod are dropped from COPY/ADD history lines on both sides.',
  },
  {
    id: 'empty layers',
    applies: 'layers',
    reason:
      'A step that changes nothing (a WORKDIR that already exists) gets an empty layer from BuildKit 0.8 and none from tsbuild, which marks its history entry empty_layer instead, as later BuildKit does; the image runs the same and is smaller. Empty layers are dropped from both sides, with their history entries marked empty_layer.',
  },
  {
    id: 'volatile content',
    applies: 'filesystem',
    reason:
      'Content a RUN draws from randomness (e.g. /dev/urandom) differs on every build; for the paths listed in VOLATILE_CONTENT only the content digest is ignored (type, mode, owner and size still count).',
  },
];

/** Per fixture: paths whose bytes are random by construction (see 'volatile content'). */
const VOLATILE_CONTENT: Readonly<Record<string, readonly string[]>> = {
  'bench-big-layer': ['random.bin'],
};

/** The image config with the config normalisations applied (a fresh object). */
export function normaliseConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out = dropNulls(structuredClone(config)) as Record<string, unknown>;
  delete out.created;
  if (out.config && typeof out.config === 'object') delete (out.config as Record<string, unknown>).ArgsEscaped;
  const rootfs = out.rootfs as { diff_ids?: unknown[] } | undefined;
  if (rootfs && Array.isArray(rootfs.diff_ids)) rootfs.diff_ids = rootfs.diff_ids.map(() => 'sha256:…');
  if (Array.isArray(out.history)) {
    out.history = (out.history as Record<string, unknown>[]).map((h) => {
      const { created: _created, comment: _comment, ...rest } = h;
      if (typeof rest.created_by === 'string') {
        const line = rest.created_by.replace(/ # buildkit$/, '');
        rest.created_by = /^(COPY|ADD) /.test(line) ? line.replace(/ --(chown|chmod)=\S+/g, '') : line;
      }
      return rest;
    });
  }
  return out;
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) o[k] = dropNulls(x);
    return o;
  }
  return v;
}

/** A file's facts with the filesystem normalisations for `fixture` applied. */
export function normaliseFile(fixture: string, path: string, facts: FileFacts): FileFacts {
  if (VOLATILE_CONTENT[fixture]?.includes(path)) {
    const { digest: _digest, ...rest } = facts;
    return rest;
  }
  return facts;
}

/** The image without layers that change no path; their history entries become `empty_layer` (see 'empty layers'). */
export function dropEmptyLayers(facts: ImageFacts): ImageFacts {
  const config = structuredClone(facts.config);
  const history = Array.isArray(config.history) ? (config.history as Record<string, unknown>[]) : [];
  const rootfs = config.rootfs as { diff_ids?: unknown[] } | undefined;
  const keep = facts.layers.map((paths) => paths.length > 0);
  let layer = 0;
  for (const h of history) {
    if (h.empty_layer === true) continue;
    if (keep[layer] === false) h.empty_layer = true;
    layer++;
  }
  if (rootfs && Array.isArray(rootfs.diff_ids)) rootfs.diff_ids = rootfs.diff_ids.filter((_, i) => keep[i] !== false);
  return { config, fs: facts.fs, layers: facts.layers.filter((_, i) => keep[i] !== false) };
}

/** Each layer without a lone `etc/` entry (see 'runtime mount points'). */
export function dropRuntimeMountPoints(facts: ImageFacts): ImageFacts {
  const layers = facts.layers.map((paths) => (paths.includes('etc/') && !paths.some((p) => p !== 'etc/' && p.replace(/^-/, '').startsWith('etc/')) ? paths.filter((p) => p !== 'etc/') : paths));
  return { ...facts, layers };
}

/** The paths (relative, no leading slash) of a Dockerfile's RUN --mount targets and their parents (see 'RUN --mount targets'). */
export function mountTargets(dockerfile: string): Set<string> {
  const out = new Set<string>();
  const add = (path: string): void => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  };
  for (const m of dockerfile.matchAll(/--mount=(\S+)/g)) {
    const opts = new Map((m[1] ?? '').split(',').map((kv) => [kv.split('=')[0] ?? '', kv.slice(kv.indexOf('=') + 1)] as const));
    const target = opts.get('target') ?? opts.get('dst') ?? opts.get('destination');
    const type = opts.get('type') ?? 'bind';
    // the default targets: /run/secrets/<id> and /run/buildkit/ssh_agent.N
    if (target !== undefined) add(target);
    else if (type === 'secret') add(`run/secrets/${opts.get('id') ?? ''}`);
    else if (type === 'ssh') add('run/buildkit/ssh_agent.0');
  }
  return out;
}

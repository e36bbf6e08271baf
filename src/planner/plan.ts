import type { SourceLocation } from '../errors.ts';
import type { NetworkMode } from '../executor/runtime-spec.ts';
import type { ContainerConfig, Descriptor, Digest, HistoryEntry, ImageConfig, Layer, Platform } from '../image/oci.ts';

/**
 * The plan: what the planner hands the executor. A plain value that
 * `tsbuild plan --json` prints.
 *
 * Each stage is a chain of steps over a base. Only steps that change the
 * filesystem (RUN, COPY, ADD, WORKDIR's mkdir) are vertices of the layer DAG
 * and carry a cache key; metadata instructions (ENV, CMD, LABEL...) only
 * change the image config the planner computes, so editing a LABEL never
 * invalidates a later RUN. Stages depend on each other through `FROM <stage>`,
 * `COPY --from=<stage>` and `RUN --mount=from=<stage>`; only the stages the
 * target needs are planned.
 */
export interface Plan {
  /** Only the stages the target needs, dependencies first; `target` is the last. */
  stages: StagePlan[];
  target: number;
  platform: Platform;
  /** Things the user should know that do not stop the build (an unused `--build-arg`...). */
  warnings: string[];
}

/** A base image as resolved before planning: its manifest pins everything. */
export interface ResolvedImage {
  /** The reference as the Dockerfile named it, after expansion. */
  name: string;
  manifest: Descriptor;
  config: ImageConfig;
  layers: Layer[];
}

export type StageBase =
  | { kind: 'scratch' }
  | { kind: 'image'; image: ResolvedImage }
  | { kind: 'stage'; stage: number };

export interface StagePlan {
  /** Position in the Dockerfile (0-based), as `COPY --from=0` counts. */
  index: number;
  name?: string;
  base: StageBase;
  steps: Step[];
  /** The image config when the stage ends, without rootfs and history (the executor adds those). */
  config: ContainerConfig;
  /** The image author (MAINTAINER), if set here or inherited. */
  author?: string;
  /** One entry per instruction after FROM (and per ONBUILD trigger run), in order, for the image history. */
  history: PlannedHistory[];
  /** The cache key of the stage's final filesystem: its last vertex's key, or its base's. */
  finalKey: Digest;
}

export interface PlannedHistory {
  entry: HistoryEntry;
  /** Index into `steps` of the filesystem step that made this entry, if any. */
  step?: number;
}

/** Where COPY, ADD or a bind mount reads from. */
export type SourceRoot =
  | { kind: 'context' }
  | { kind: 'stage'; stage: number }
  | { kind: 'image'; image: ResolvedImage }
  /** A `--build-context NAME=DIR`. */
  | { kind: 'named'; name: string };

/** A RUN `--mount`, resolved. Secret values never appear here, only their ids. */
export type PlannedMount =
  | { type: 'bind'; target: string; from: SourceRoot; source: string; readwrite: boolean }
  | {
      type: 'cache';
      target: string;
      id: string;
      sharing: 'shared' | 'private' | 'locked';
      readonly: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; mode: number; uid: number; gid: number }
  | { type: 'ssh'; id: string; target: string; required: boolean; mode: number; uid: number; gid: number };

/** An `ADD https://…` source, downloaded into the blob store while planning. */
export interface FetchedUrl {
  url: string;
  digest: Digest;
  /** The file name: the URL path's last component. */
  name: string;
  /** From Last-Modified, in seconds. */
  mtime?: number;
}

/** A file the planner made from a heredoc. */
export interface InlineFile {
  name: string;
  content: string;
}

export type StepOp =
  | {
      op: 'run';
      args: string[];
      env: string[];
      user: string;
      workdir: string;
      network: NetworkMode;
      mounts: PlannedMount[];
      /** Files the command reads from `/dev/pipes/<name>` (a `RUN <<EOF` script with a `#!` line). */
      files: InlineFile[];
    }
  | {
      op: 'copy';
      /** ADD: extract local tar archives. */
      add: boolean;
      from: SourceRoot;
      sources: string[];
      /** Inline sources (`COPY <<EOF`), already expanded where the delimiter was unquoted. */
      inline: InlineFile[];
      /** ADD sources fetched from URLs (written with mode 0600, not unpacked unless `--unpack`). */
      urls: FetchedUrl[];
      /** ADD `--unpack`: undefined unpacks local archives only. */
      unpack?: boolean;
      /** Absolute, resolved against WORKDIR; a trailing `/` is kept, it means "into a dir". */
      dest: string;
      chown?: string;
      /** Octal (`0755`) or symbolic (`u=rwX,go=rX`). */
      chmod?: string;
      /** `--link`: the layer does not depend on what is below it. */
      link: boolean;
      parents: boolean;
      exclude: string[];
    }
  | { op: 'mkdir'; path: string; user: string };

export interface Step {
  /** Stable across builds of the same Dockerfile: `<stage name or stage-N>/<step number>`. */
  id: string;
  /** Human name for progress: `RUN make`, `COPY . /app`. */
  name: string;
  location: SourceLocation;
  /** Ids of the vertices this one depends on: the previous step (or the base stage's last), and any stage it copies or mounts from. */
  parents: string[];
  op: StepOp;
  /** What went into the key besides the operation and the parent key: content digests of COPY sources, a source stage's key, `SOURCE_DATE_EPOCH` (EPOCH_INPUT). */
  inputs: Record<string, string>;
  /** Content-addressed: same inputs on any machine give the same key. */
  key: Digest;
  /** The key of the filesystem this step starts from. */
  parentKey: Digest;
}

/** The step input that holds `SOURCE_DATE_EPOCH` when a build sets it (see PlanOptions.sourceDateEpoch). */
export const EPOCH_INPUT = 'source-date-epoch';

import type { SourceLocation } from '../errors.ts';
import type { NetworkMode } from '../executor/runtime-spec.ts';
import type { ContainerConfig, Descriptor, Digest, HistoryEntry, ImageConfig, Layer, Platform } from '../image/oci.ts';

/**
 * The plan: what the planner hands the executor. A plain value that
 * `tsbuild plan` prints as JSON.
 *
 * Each stage is a chain of steps over a base. Only steps that change the
 * filesystem (RUN, COPY, ADD, WORKDIR's mkdir) are vertices of the layer DAG
 * and carry a cache key; metadata instructions (ENV, CMD, LABEL...) only
 * change the image config the planner computes, so editing a LABEL never
 * invalidates a later RUN. Stages depend on each other through `FROM <stage>`
 * and `COPY --from=<stage>`; the target stage's dependencies are the only
 * stages planned.
 */
export interface Plan {
  /** Only the stages the target needs, dependencies first; `target` is the last. */
  stages: StagePlan[];
  target: number;
  platform: Platform;
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
  /** One entry per instruction after FROM, in order, for the image history. */
  history: PlannedHistory[];
  /** The cache key of the stage's final filesystem: its last vertex's key, or its base's. */
  finalKey: Digest;
}

export interface PlannedHistory {
  entry: HistoryEntry;
  /** Index into `steps` of the filesystem step that made this entry, if any. */
  step?: number;
}

export type CopySourceRoot = { kind: 'context' } | { kind: 'stage'; stage: number };

export type StepOp =
  | {
      op: 'run';
      args: string[];
      env: string[];
      user: string;
      workdir: string;
      network: NetworkMode;
    }
  | {
      op: 'copy';
      /** ADD: extract local tar archives. */
      add: boolean;
      from: CopySourceRoot;
      sources: string[];
      /** Absolute, resolved against WORKDIR; a trailing `/` is kept, it means "into a dir". */
      dest: string;
      chown?: string;
      chmod?: string;
    }
  | { op: 'mkdir'; path: string; user: string };

export interface Step {
  /** Stable across builds of the same Dockerfile: `<stage name or stage-N>/<step number>`. */
  id: string;
  /** Human name for progress: `RUN make`, `COPY . /app`. */
  name: string;
  /** Ids of the vertices this one depends on: the previous step (or the base stage's last), and a `COPY --from` stage's last. */
  parents: string[];
  /** What went into the key besides the operation and the parent key: content digests of COPY sources, a source stage's key. */
  inputs: Record<string, string>;
  location: SourceLocation;
  op: StepOp;
  /** Content-addressed: same inputs on any machine give the same key. */
  key: Digest;
  /** The key of the filesystem this step starts from. */
  parentKey: Digest;
}

/**
 * The OCI image JSON documents, typed. Field names follow the OCI image spec
 * (and Docker's extensions inside `config`) exactly, because these objects are
 * serialised as they are.
 */

/** `sha256:` + 64 lowercase hex characters. */
export type Digest = `sha256:${string}`;

export const MediaType = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/**
 * Execution defaults (`config` inside the image config). The OCI fields, then
 * Docker's extensions (Docker Image Spec v1.3), which OCI readers ignore.
 */
export interface ContainerConfig {
  User?: string;
  /** `{"80/tcp": {}}`. */
  ExposedPorts?: Record<string, Record<string, never>>;
  /** `K=V`, in definition order. */
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker: the shell of shell-form commands (`SHELL`). */
  Shell?: string[];
  /** Docker: `ONBUILD` triggers, run by builds that use this image as a base. */
  OnBuild?: string[] | null;
  /** Docker: the container health check (`HEALTHCHECK`). */
  Healthcheck?: HealthConfig;
}

/** Docker's extension: the container health check. Durations are integer nanoseconds; 0 means "inherit/default". */
export interface HealthConfig {
  /** `["CMD", args…]`, `["CMD-SHELL", script]` or `["NONE"]`. */
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** One build step, oldest first; entries without `empty_layer` pair up with `rootfs.diff_ids` in order. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config blob (`application/vnd.oci.image.config.v1+json`); its digest is the image ID. */
export interface ImageConfig {
  /** RFC 3339. */
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** A layer as the build knows it: the stored blob plus its uncompressed digest. */
export interface Layer {
  /** Descriptor of the blob as stored (compressed). */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
}

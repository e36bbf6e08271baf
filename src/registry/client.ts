/**
 * The registry client's public face: pulling images and resolving references
 * over the OCI distribution API. Import from here rather than from the
 * modules behind it (transport, auth, manifest, blob, platform, pull), which
 * may be reorganised.
 */
export { pullImage, type PullOptions, type PullProgress, type PulledImage } from './pull.ts';
export { resolveManifest, type ResolveOptions } from './manifest.ts';
export { DEFAULT_PLATFORM, formatPlatform } from './platform.ts';
export { isLoopbackRegistry, registryBaseUrl } from './transport.ts';

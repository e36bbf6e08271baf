/**
 * The registry client's public face: pulling and pushing images, resolving
 * references, logging in, over the OCI distribution API. Import from here
 * rather than from the modules behind it, which may be reorganised.
 */
export { pullImage, type PullOptions, type PullProgress, type PulledImage } from './pull.ts';
export { pushImage, type PushOptions, type PushProgress, type PushResult } from './push.ts';
export { blobLocations, type BlobLocations, type Repository } from './locations.ts';
export { resolveManifest, type ResolveOptions } from './manifest.ts';
export { login, logout, normaliseRegistry, type LoginOptions } from './login.ts';
export { dockerCredentials, type CredentialLookup, type Credentials } from './credentials.ts';
export { DEFAULT_PLATFORM, formatPlatform, parsePlatform } from './platform.ts';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
export { isLoopbackRegistry, registryBaseUrl, RegistrySession, type RegistryOptions } from './session.ts';
export { RegistryError } from './transport.ts';

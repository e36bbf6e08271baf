/**
 * The heavy half of a build (parser, planner, context, executor, registry
 * client, exporters), loaded by `build()` only once the memo of the last
 * build could not answer (see build-memo.ts): a rebuild with nothing
 * changed never loads, let alone runs, any of it.
 */
export { BuildCache } from '../cache/build-cache.ts';
export { BuildHistory } from '../cache/build-history.ts';
export { cacheMountIds, exportCacheMounts, importCacheMounts } from '../cache/cache-mounts.ts';
export { runtimeFromEnv } from '../executor/oci-runtime.ts';
export { storeImage } from '../image/image-writer.ts';
export { hostPlatform } from '../platform.ts';
export { pushEvents } from '../progress/registry-events.ts';
export { blobLocations, pushImage } from '../registry/client.ts';
export { RegistrySession } from '../registry/session.ts';
export { exportCaches, importCaches } from './cache-transfer.ts';
export { executePlan } from './execute.ts';
export { describeLoaded, explainPlan } from './explain-plan.ts';
export { exportOutputs } from './export.ts';
export { ignoredKeys } from './ignore-cache.ts';
export { loadPlan } from './load-plan.ts';
export { withNamedContexts } from './named-contexts.ts';
export { imageResolver } from './resolve-image.ts';

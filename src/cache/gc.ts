import { readdir, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { liveSessions, recoverDeadSessions } from '../executor/session.ts';
import { BlobStore } from '../image/blob-store.ts';
import { ImageStore } from '../image/image-store.ts';
import type { Digest } from '../image/oci.ts';
import { BuildHistory } from './build-history.ts';
import { CacheStore, type CacheRecord, type StoredRecord } from './cache-store.ts';
import { removeTree } from '../remove-tree.ts';
import { diskUsage } from './disk-usage.ts';
import { isLocked } from './lock-file.ts';
import { lockStore } from './store-lock.ts';
import { imageRoots } from './store-roots.ts';

export interface PruneOptions {
  /** Remove every cache record, not only those no named image uses; also cache mounts and the build history. */
  all?: boolean;
  /** Remove the least recently used records until the store takes at most this many bytes. */
  keepStorage?: number;
  /** Only remove what no build used for at least this long (ms). */
  unusedForMs?: number;
  /** Wait for running builds to end (default); false: do nothing while the store is busy. */
  wait?: boolean;
  /** Called when it starts waiting for running builds. */
  onWait?: (builds: number) => void;
}

export interface PruneReport {
  records: number;
  blobs: number;
  snapshots: number;
  /** Bytes freed. */
  freed: number;
  /** Store size (blobs, snapshots, cache mounts) before and after. */
  before: number;
  after: number;
}

/**
 * Garbage collection (`tsbuild prune` and the automatic limit): removes
 * cache records, then every blob, diff dir, lock and file list nothing left
 * refers to. What stays: the named images (`images/`), with their blobs
 * and (unless `all`) their unpacked layers, and the records not selected.
 *
 * Selection: with `keepStorage`, least recently used first until the store
 * fits; otherwise, with `all`, every record; by default, the records whose
 * layer no named image contains (intermediate steps, other stages). Records
 * used within `unusedForMs` are never selected.
 *
 * It holds the store exclusively (see store-lock.ts): it waits for running
 * builds, and builds starting meanwhile wait for it, so nothing a build uses
 * is removed. Undefined when `wait` is false and builds are running.
 */
export async function pruneStore(root: string, opts: PruneOptions = {}): Promise<PruneReport | undefined> {
  const held = await lockStore(root, { wait: opts.wait ?? true, liveBuilds: () => liveSessions(root), ...(opts.onWait && { onWait: opts.onWait }) });
  if (!held) return undefined;
  try {
    await recoverDeadSessions(root);
    return await pruneLocked(root, opts);
  } finally {
    await held.release();
  }
}

/** Blobs, diff dirs and cache mounts: what the store size counts. */
function storeSize(root: string): Promise<number> {
  return diskUsage(...['blobs', 'snapshots', 'cache-mounts'].map((dir) => join(root, dir)));
}

async function pruneLocked(root: string, opts: PruneOptions): Promise<PruneReport> {
  const blobs = new BlobStore(join(root, 'blobs'));
  const cache = new CacheStore(root, blobs);
  const images = await imageRoots(new ImageStore(join(root, 'images')), blobs);
  const { records, junk } = await cache.list();
  const before = await storeSize(root);
  const now = Date.now();
  const eligible = records.filter((r) => opts.unusedForMs === undefined || now - r.lastUsedMs >= opts.unusedForMs);
  let selected: StoredRecord[];
  if (opts.keepStorage !== undefined) {
    selected = [];
    let size = before;
    for (const r of [...eligible].sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
      if (size <= opts.keepStorage) break;
      selected.push(r);
      size -= await recordSize(root, r, images.blobs, blobs);
    }
  } else if (opts.all) selected = eligible;
  else selected = eligible.filter((r) => !r.record.layer || !images.blobs.has(r.record.layer.descriptor.digest));

  const removed = new Set(selected.map((r) => r.record.key));
  for (const key of removed) await cache.remove(key);
  for (const name of junk) await rm(join(cache.dir, name), { force: true });
  const kept = records.filter((r) => !removed.has(r.record.key)).map((r) => r.record);

  const keepBlobs = new Set<string>(images.blobs);
  const keepDirs = new Set<string>();
  for (const r of kept) {
    if (r.snapshot !== undefined) keepDirs.add(r.snapshot);
    if (!r.layer) continue;
    keepBlobs.add(r.layer.descriptor.digest);
    keepDirs.add(hex(r.layer.diffId));
  }
  if (!opts.all) for (const id of images.diffIds) keepDirs.add(hex(id));

  // what nothing refers to has no last use: with --filter until, its age counts instead
  const young = async (path: string): Promise<boolean> =>
    opts.unusedForMs !== undefined && now - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) < opts.unusedForMs;
  let freed = 0;
  let blobCount = 0;
  for (const name of await readdir(join(root, 'blobs', 'sha256')).catch(() => [])) {
    const path = join(root, 'blobs', 'sha256', name);
    if (keepBlobs.has(`sha256:${name}`) || (await young(path))) continue;
    freed += await diskUsage(path);
    await rm(path, { force: true });
    blobCount++;
  }
  await rm(join(root, 'blobs', 'ingest'), { recursive: true, force: true });
  let dirCount = 0;
  for (const name of await readdir(join(root, 'snapshots')).catch(() => [])) {
    if (keepDirs.has(name) || (await young(join(root, 'snapshots', name)))) continue;
    freed += await diskUsage(join(root, 'snapshots', name));
    await removeTree(join(root, 'snapshots', name));
    dirCount++;
  }
  for (const name of await cache.superseded()) if (!keepDirs.has(name)) await cache.clearSuperseded(name);
  await removeDanglingLinks(root);
  await removeStaleLocks(root);
  await pruneHistory(root, opts.all === true);
  if (opts.all) freed += await pruneCacheMounts(root, opts.unusedForMs, now);
  return { records: removed.size, blobs: blobCount, snapshots: dirCount, freed, before, after: await storeSize(root) };
}

/** What removing a record frees, about: its diff dir, and its blob (and unpacked layer) when no image keeps them. */
async function recordSize(root: string, r: StoredRecord, imageBlobs: Set<Digest>, blobs: BlobStore): Promise<number> {
  let size = r.record.snapshot !== undefined ? await diskUsage(join(root, 'snapshots', r.record.snapshot)) : 0;
  const layer = r.record.layer;
  if (layer && !imageBlobs.has(layer.descriptor.digest)) {
    size += await blobs.size(layer.descriptor.digest).catch(() => 0);
    size += await diskUsage(join(root, 'snapshots', hex(layer.diffId)));
  }
  return size;
}

/** `l/` holds short aliases of diff dirs (and the fixed `empty` and `stubs` dirs). */
async function removeDanglingLinks(root: string): Promise<void> {
  const links = join(root, 'l');
  for (const name of await readdir(links).catch(() => [])) {
    if (name === 'empty' || name === 'stubs') continue;
    if (!(await stat(join(links, name)).then(() => true, () => false))) await rm(join(links, name), { force: true });
  }
}

/** Step-key lock files no live build holds (the GC lock itself is held by the caller). */
async function removeStaleLocks(root: string): Promise<void> {
  const dir = join(root, 'locks');
  for (const name of await readdir(dir).catch(() => [])) {
    if (name === 'gc' || name === 'recover') continue;
    if (!(await isLocked(join(dir, name)))) await rm(join(dir, name), { force: true });
  }
}

/** Remembered build command lines (cli/repeat-build.ts) are dropped this long after they were written. */
const COMMAND_LINE_RECORD_MS = 30 * 24 * 3_600_000;

/**
 * File lists no build record refers to, and remembered command lines older
 * than COMMAND_LINE_RECORD_MS (one per command line ever typed: builds with
 * a new tag each time would pile them up); with `all`, the build
 * records, the build memos and every remembered command line too.
 */
async function pruneHistory(root: string, all: boolean): Promise<void> {
  const history = new BuildHistory(root);
  if (all) {
    await rm(history.dir, { recursive: true, force: true });
    await rm(join(root, 'cache', 'memo'), { recursive: true, force: true });
    await rm(join(root, 'cache', 'parsed'), { recursive: true, force: true });
    return;
  }
  const commandLines = join(root, 'cache', 'memo', 'argv');
  const now = Date.now();
  for (const name of await readdir(commandLines).catch(() => [])) {
    const st = await stat(join(commandLines, name)).catch(() => undefined);
    if (st && now - st.mtimeMs > COMMAND_LINE_RECORD_MS) await rm(join(commandLines, name), { force: true });
  }
  const { records, listings, junk } = await history.contents();
  const used = new Set(records.flatMap((r) => r.vertices.flatMap((v) => v.contextInputs.map((i) => v.inputs[i]))));
  for (const digest of listings) if (!used.has(digest)) await history.removeListing(digest);
  for (const path of junk) await rm(path, { recursive: true, force: true });
}

async function pruneCacheMounts(root: string, unusedForMs: number | undefined, now: number): Promise<number> {
  let freed = 0;
  const dir = join(root, 'cache-mounts');
  for (const name of await readdir(dir).catch(() => [])) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (!st || (unusedForMs !== undefined && now - st.mtimeMs < unusedForMs)) continue;
    freed += await diskUsage(join(dir, name));
    await removeTree(join(dir, name));
  }
  return freed;
}

function hex(d: string): string {
  return d.slice('sha256:'.length);
}

/**
 * The automatic limit, once auto-gc.ts found it due: when the store exceeds
 * `keepStorage` (default: 10% of its file system) and no other build is
 * running, it prunes the least recently used records down to it. Under the
 * limit it only removes the diff dirs steps run again left behind (see
 * CacheStore.markSuperseded). The report is undefined when nothing was
 * pruned or the store was busy.
 */
export async function enforceLimit(root: string, keepStorage?: number): Promise<PruneReport | undefined> {
  const limit = keepStorage ?? (await defaultLimit(root));
  if ((await storeSize(root)) > limit) return pruneStore(root, { keepStorage: limit, wait: false });
  const held = await lockStore(root, { wait: false, liveBuilds: () => liveSessions(root) });
  if (!held) return undefined;
  try {
    const cache = new CacheStore(root, new BlobStore(join(root, 'blobs')));
    await removeSupersededDirs(root, cache, (await cache.list()).records.map((r) => r.record));
  } finally {
    await held.release();
  }
  return undefined;
}

/** Diff dirs that lost their record to a step run again (see CacheStore.markSuperseded). */
async function removeSupersededDirs(root: string, cache: CacheStore, records: readonly CacheRecord[]): Promise<void> {
  const used = new Set(records.flatMap((r) => (r.snapshot !== undefined ? [r.snapshot] : [])));
  for (const name of await cache.superseded()) {
    if (!used.has(name)) await removeTree(join(root, 'snapshots', name));
    await cache.clearSuperseded(name);
  }
  await removeDanglingLinks(root);
}

/** 10% of the file system the store is on, as BuildKit's default GC policy keeps. */
async function defaultLimit(root: string): Promise<number> {
  const fs = await statfs(root);
  return Math.floor((fs.blocks * fs.bsize) / 10);
}

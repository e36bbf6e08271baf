import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../executor/run-command.ts';
import { RUNTIMES, runtimeState } from '../executor/oci-runtime.ts';
import { deadSessions, liveSessions, recoverDeadSessions } from '../executor/session.ts';
import { BlobStore } from '../image/blob-store.ts';
import { ImageStore } from '../image/image-store.ts';
import { parseReference } from '../image/reference.ts';
import { BuildHistory } from './build-history.ts';
import { CacheStore } from './cache-store.ts';
import { isLocked } from './lock-file.ts';
import { lockStore } from './store-lock.ts';
import { imageRoots } from './store-roots.ts';

export interface DoctorOptions {
  /** Fix what is found (default); false: only report. */
  repair?: boolean;
  /** Called when it starts waiting for running builds. */
  onWait?: (builds: number) => void;
}

export interface DoctorReport {
  /** What was looked at. */
  checked: { blobs: number; records: number; images: number; snapshots: number };
  /** One line per problem, saying what was (or would be) done about it. */
  problems: string[];
  /** Diff dirs that lost their record to a step run again (`--no-cache`): garbage, not damage; removed when repairing. */
  garbage: number;
}

const HEX64 = /^[a-f0-9]{64}$/;

/**
 * `tsbuild doctor`: checks the store and repairs what a crash (`kill -9`,
 * power loss) or a disk error left. It waits for running builds and keeps
 * new ones out while it works (see store-lock.ts), then checks, in order:
 *
 * - dead builds' sessions: their containers are deleted, mounts unmounted,
 *   scratch dirs removed;
 * - the blob store: every blob's content against its digest (a corrupt one
 *   is removed), and half-written files under `ingest/`;
 * - cache records: unreadable ones, and ones whose layer blob is gone, are
 *   removed; a record naming a diff dir that is gone loses that reference
 *   (the layer is unpacked again when needed);
 * - image names whose manifest, config or layers are missing are removed;
 * - diff dirs no record refers to (a step that was running when the build
 *   died), dangling short links, lock files of dead processes, unreadable
 *   build-history files.
 *
 * Removing a cache record only costs a rebuild of that step, so every repair
 * is safe. With `repair: false` nothing changes and the report says what
 * would be done.
 */
export async function doctor(root: string, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const repair = opts.repair ?? true;
  const held = await lockStore(root, { wait: true, liveBuilds: () => liveSessions(root), ...(opts.onWait && { onWait: opts.onWait }) });
  if (!held) throw new Error('internal: a waiting store lock came back empty');
  try {
    return await check(root, repair);
  } finally {
    await held.release();
  }
}

async function check(root: string, repair: boolean): Promise<DoctorReport> {
  const problems: string[] = [];
  const fix = async (problem: string, action: () => Promise<unknown>): Promise<void> => {
    problems.push(`${problem}: ${repair ? 'repaired' : 'would repair'}`);
    if (repair) await action();
  };
  const remove = (path: string) => () => rm(path, { recursive: true, force: true });

  const dead = await deadSessions(root);
  if (dead.length > 0) await fix(`${dead.length} session(s) of dead builds (${dead.join(', ')})`, () => recoverDeadSessions(root));
  await checkContainers(root, fix);

  const blobs = new BlobStore(join(root, 'blobs'));
  for (const name of await readdir(join(root, 'blobs', 'ingest')).catch(() => [])) {
    await fix(`unfinished blob write blobs/ingest/${name}`, remove(join(root, 'blobs', 'ingest', name)));
  }
  const blobNames = await readdir(join(root, 'blobs', 'sha256')).catch(() => []);
  const goodBlobs = new Set<string>();
  for (const name of blobNames) {
    const path = join(root, 'blobs', 'sha256', name);
    if (HEX64.test(name) && (await sha256File(path)) === name) goodBlobs.add(`sha256:${name}`);
    else await fix(`blob blobs/sha256/${name} does not match its digest`, remove(path));
  }
  const hasBlob = (d: string): boolean => goodBlobs.has(d);

  const cache = new CacheStore(root, blobs);
  const { records, junk } = await cache.list();
  for (const name of junk) await fix(`unreadable cache record cache/${name}`, remove(join(cache.dir, name)));
  const snapshotNames = new Set(await readdir(join(root, 'snapshots')).catch(() => []));
  const usedDirs = new Set<string>();
  for (const { record } of records) {
    if (record.layer && !hasBlob(record.layer.descriptor.digest)) {
      await fix(`cache record ${record.key} names missing layer ${record.layer.descriptor.digest}`, () => cache.remove(record.key));
      continue;
    }
    if (record.snapshot === undefined) continue;
    if (snapshotNames.has(record.snapshot)) usedDirs.add(record.snapshot);
    else {
      const { snapshot: _gone, ...rest } = record;
      await fix(`cache record ${record.key} names missing diff dir ${record.snapshot}`, () => cache.put(rest));
    }
  }

  const images = new ImageStore(join(root, 'images'));
  const roots = await imageRoots(images, blobs);
  for (const { name, problem } of roots.broken) await fix(`image ${name}: ${problem}`, () => images.remove(parseReference(name)));

  const superseded = await cache.superseded();
  let garbage = 0;
  for (const name of snapshotNames) {
    // unpacked layers are named by diffId: a cache of their blob, always complete
    if (HEX64.test(name) || usedDirs.has(name)) continue;
    if (superseded.has(name)) {
      garbage++;
      if (repair) await remove(join(root, 'snapshots', name))();
    } else await fix(`diff dir snapshots/${name} belongs to no cache record`, remove(join(root, 'snapshots', name)));
  }
  if (repair) for (const name of superseded) if (!usedDirs.has(name)) await cache.clearSuperseded(name);
  for (const name of await readdir(join(root, 'l')).catch(() => [])) {
    if (name === 'empty' || name === 'stubs') continue;
    if (!(await stat(join(root, 'l', name)).then(() => true, () => false))) await fix(`dangling link l/${name}`, remove(join(root, 'l', name)));
  }
  for (const name of await readdir(join(root, 'locks')).catch(() => [])) {
    if (name === 'gc') continue;
    if (!(await isLocked(join(root, 'locks', name)))) await fix(`lock locks/${name} of a dead process`, remove(join(root, 'locks', name)));
  }
  for (const path of (await new BuildHistory(root).contents()).junk) await fix(`unreadable build history file ${path}`, remove(path));

  return { checked: { blobs: blobNames.length, records: records.length, images: (await images.list()).length, snapshots: snapshotNames.size }, problems, garbage };
}

/** Build containers whose session is gone (a build killed while its recovery was under way), under either runtime. */
async function checkContainers(root: string, fix: (problem: string, action: () => Promise<unknown>) => Promise<void>): Promise<void> {
  const live = new Set(await readdir(join(root, 'active')).catch(() => []));
  for (const runtime of RUNTIMES) {
    if (!(await stat(runtimeState(root, runtime.name)).then(() => true, () => false))) continue;
    const list = runtime.command(root, ['list', '-q']);
    const listed = await runCommand(list.cmd, list.args);
    for (const id of listed.stdout.split('\n').filter(Boolean)) {
      const session = /^tsbuild-([a-f0-9]+)-/.exec(id)?.[1];
      if (session !== undefined && live.has(session)) continue;
      const del = runtime.command(root, ['delete', '--force', id]);
      await fix(`container ${id} of no running build`, () => runCommand(del.cmd, del.args));
    }
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

import { existsSync, readFileSync, utimesSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../image/blob-store.ts';
import type { Digest, Layer } from '../image/oci.ts';
import { randomHex } from '../random-hex.ts';

/** What a finished filesystem step left: its layer, or none when it changed nothing. */
export interface CacheRecord {
  key: Digest;
  layer: Layer | null;
  /** Id of the diff dir the step wrote, to stack under later steps without unpacking the layer. */
  snapshot?: string;
}

/** A record as stored, with when a build last used it (the file's mtime). */
export interface StoredRecord {
  record: CacheRecord;
  lastUsedMs: number;
}

const SUFFIX = '.json';
const KEY_FILE = /^[a-f0-9]{64}\.json$/;

/**
 * Cache records under `cache/<key hex>.json`: a step's key (decided by the
 * planner) → the layer it produced. A record is only trusted while the blob
 * it names is still in the blob store; records are written to a temp file and
 * renamed, so readers never see half a record. A hit touches the file, so
 * its mtime says when a build last used it (what garbage collection goes by).
 */
export class CacheStore {
  readonly dir: string;

  constructor(
    root: string,
    private readonly blobs: BlobStore,
  ) {
    this.dir = join(root, 'cache');
  }

  /**
   * The record for `key` if it is usable (its blob present); marks it used.
   * Its three file system calls are synchronous: on files this small they
   * take a fraction of the thread pool's round trips, and a fully cached
   * build checks every step's record at once (build/build-memo.ts).
   */
  async get(key: Digest): Promise<CacheRecord | undefined> {
    let record: CacheRecord | undefined;
    try {
      record = parseRecord(readFileSync(this.file(key), 'utf8'), key);
      // (a record naming an invalid digest is no record: path() throws)
      if (record?.layer && !existsSync(this.blobs.path(record.layer.descriptor.digest))) return undefined;
    } catch {
      return undefined;
    }
    if (!record) return undefined;
    const now = new Date();
    try {
      utimesSync(this.file(key), now, now);
    } catch {
      // marking it used is best effort: a store it cannot write to still hits
    }
    return record;
  }

  /** The record for `key` as stored, without checking its blob or marking it used. */
  async read(key: Digest): Promise<CacheRecord | undefined> {
    return parseRecord(await readFile(this.file(key), 'utf8').catch(() => ''), key);
  }

  async put(record: CacheRecord): Promise<void> {
    const tmp = `${this.file(record.key)}.${randomHex(12)}.tmp`;
    await writeFile(tmp, JSON.stringify(record)).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      await mkdir(this.dir, { recursive: true });
      await writeFile(tmp, JSON.stringify(record));
    });
    await rename(tmp, this.file(record.key));
  }

  async remove(key: Digest): Promise<void> {
    await rm(this.file(key), { force: true });
  }

  /**
   * Notes that the diff dir `id` lost its record to a newer one (a step run
   * again with `--no-cache`): unused garbage to collect, not damage.
   * Another build may still be using it, so it is not removed here.
   */
  async markSuperseded(id: string): Promise<void> {
    await mkdir(join(this.dir, 'superseded'), { recursive: true });
    await writeFile(join(this.dir, 'superseded', id), '');
  }

  /** The diff dirs marked superseded. */
  async superseded(): Promise<Set<string>> {
    return new Set(await readdir(join(this.dir, 'superseded')).catch(() => []));
  }

  async clearSuperseded(id: string): Promise<void> {
    await rm(join(this.dir, 'superseded', id), { force: true });
  }

  /**
   * Every record file: readable ones with their last use, and the names of
   * files that are not records (temp files, corrupt records) in `junk`.
   */
  async list(): Promise<{ records: StoredRecord[]; junk: string[] }> {
    const records: StoredRecord[] = [];
    const junk: string[] = [];
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true })).filter((d) => !d.isDirectory()).map((d) => d.name);
    } catch {
      return { records, junk };
    }
    for (const name of names) {
      const key: Digest = `sha256:${name.slice(0, -SUFFIX.length)}`;
      const record = KEY_FILE.test(name) ? await this.read(key) : undefined;
      const info = await stat(join(this.dir, name)).catch(() => undefined);
      if (!info) continue;
      if (record) records.push({ record, lastUsedMs: info.mtimeMs });
      else junk.push(name);
    }
    return { records, junk };
  }

  private file(key: Digest): string {
    return join(this.dir, `${key.slice('sha256:'.length)}${SUFFIX}`);
  }
}

/** A record file's text, if it is the record of `key`. */
function parseRecord(text: string, key: Digest): CacheRecord | undefined {
  try {
    const record = JSON.parse(text) as CacheRecord;
    return record.key === key ? record : undefined;
  } catch {
    return undefined;
  }
}

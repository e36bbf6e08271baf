import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../image/blob-store.ts';
import type { Digest, Layer } from '../image/oci.ts';

/** What a finished filesystem step left: its layer, or none when it changed nothing. */
export interface CacheRecord {
  key: Digest;
  layer: Layer | null;
  /** Id of the diff dir the step wrote, to stack under later steps without unpacking the layer. */
  snapshot?: string;
}

/**
 * Cache records under `cache/<key hex>.json`: a step's key (decided by the
 * planner) → the layer it produced. A record is only trusted while the blob
 * it names is still in the blob store; records are written to a temp file and
 * renamed, so readers never see half a record.
 */
export class CacheStore {
  private readonly dir: string;

  constructor(
    root: string,
    private readonly blobs: BlobStore,
  ) {
    this.dir = join(root, 'cache');
  }

  async get(key: Digest): Promise<CacheRecord | undefined> {
    let record: CacheRecord;
    try {
      record = JSON.parse(await readFile(this.file(key), 'utf8')) as CacheRecord;
    } catch {
      return undefined;
    }
    if (record.key !== key) return undefined;
    if (record.layer && !(await this.blobs.has(record.layer.descriptor.digest))) return undefined;
    return record;
  }

  async put(record: CacheRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.file(record.key)}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, this.file(record.key));
  }

  private file(key: Digest): string {
    return join(this.dir, `${key.slice('sha256:'.length)}.json`);
  }
}

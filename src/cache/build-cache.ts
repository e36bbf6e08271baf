import { join } from 'node:path';
import type { BlobStore } from '../image/blob-store.ts';
import type { Digest, Layer } from '../image/oci.ts';
import type { CacheRecord, CacheStore } from './cache-store.ts';
import { lock } from './lock-file.ts';

/** A step's turn at its key: either a result to reuse, or the right to run the step. */
export interface StepClaim {
  /** The cached result: the step is not run (nothing to commit or release). */
  hit?: CacheRecord;
  /** Records the step's result, then lets builds waiting for this key go on (they hit it). */
  commit(record: CacheRecord): Promise<void>;
  /** Lets waiting builds go on without a result (the step failed). Idempotent. */
  release(): Promise<void>;
}

/** Cache records imported from elsewhere (`--cache-from`): keys → layers whose blobs are fetched only when needed. */
export interface RemoteRecords {
  /** Where they come from, for messages. */
  readonly source: string;
  /** The record for `key`, its layer's blob possibly not in the local store yet. */
  lookup(key: Digest): CacheRecord | undefined;
  /** Whether this source has the blob. */
  hasBlob(digest: Digest): boolean;
  /** Downloads a layer's blob into the local blob store. */
  fetch(layer: Layer): Promise<void>;
}

export interface BuildCacheOptions {
  /** `$TSBUILD_ROOT`: per-key locks live in `locks/`. */
  root: string;
  store: CacheStore;
  blobs: BlobStore;
  /** Keys whose records must not be used (`--no-cache`, `--no-cache-filter`): the step runs, and its result is recorded. */
  ignore?: (key: Digest) => boolean;
  /** `--cache-from` sources, asked after the local records. */
  remotes?: readonly RemoteRecords[];
}

/**
 * The cache as one build sees it. A step claims its key before running:
 * a record (local, or imported with `--cache-from`) is a hit; otherwise the
 * claim holds the key's lock until the result is committed, so another
 * build wanting the same key at the same time waits and then hits instead
 * of doing the work twice. Builds of different steps never wait for each
 * other. Locks die with their process, so a killed build blocks nobody.
 */
export class BuildCache {
  private readonly fetches = new Map<Digest, Promise<void>>();
  /** Imported records whose layer is not here yet, by layer digest: they become local once it is fetched. */
  private readonly awaitingBlob = new Map<Digest, CacheRecord[]>();

  constructor(private readonly opts: BuildCacheOptions) {}

  get store(): CacheStore {
    return this.opts.store;
  }

  async claim(key: Digest, onWait?: () => void): Promise<StepClaim> {
    const ignored = this.ignores(key);
    if (!ignored) {
      const hit = await this.lookup(key);
      if (hit) return hitClaim(hit);
    }
    const held = await lock(join(this.opts.root, 'locks', key.slice('sha256:'.length)), onWait ? { onWait } : {});
    try {
      const hit = ignored ? undefined : await this.lookup(key);
      if (hit) {
        await held.release();
        return hitClaim(hit);
      }
    } catch (e) {
      await held.release();
      throw e;
    }
    return {
      commit: async (record) => {
        try {
          const old = await this.opts.store.read(key);
          await this.opts.store.put(record);
          if (old?.snapshot !== undefined && old.snapshot !== record.snapshot) await this.opts.store.markSuperseded(old.snapshot);
        } finally {
          await held.release();
        }
      },
      release: () => held.release(),
    };
  }

  /** Whether `key`'s records are not to be used (`--no-cache`, `--no-cache-filter`): nothing an earlier run made may stand in for the step's work. */
  ignores(key: Digest): boolean {
    return this.opts.ignore?.(key) ?? false;
  }

  /** Whether a claim of `key` would be a hit now. */
  async willHit(key: Digest): Promise<boolean> {
    return !this.ignores(key) && (await this.lookup(key)) !== undefined;
  }

  /** A usable record for `key` (without taking its lock): local first, then the `--cache-from` sources. */
  async lookup(key: Digest): Promise<CacheRecord | undefined> {
    const local = await this.opts.store.get(key);
    if (local) return local;
    for (const remote of this.opts.remotes ?? []) {
      const record = remote.lookup(key);
      if (!record) continue;
      const digest = record.layer?.descriptor.digest;
      if (digest === undefined || (await this.opts.blobs.has(digest))) await this.opts.store.put(record);
      else this.awaitingBlob.set(digest, [...(this.awaitingBlob.get(digest) ?? []), record]);
      return record;
    }
    return undefined;
  }

  /**
   * Makes sure a layer's blob is in the local store, downloading it from a
   * `--cache-from` source when a hit named a layer that is not here yet.
   * Every imported record with that layer then becomes a local record.
   */
  async ensureBlob(layer: Layer): Promise<void> {
    const digest = layer.descriptor.digest;
    if (await this.opts.blobs.has(digest)) return;
    let pending = this.fetches.get(digest);
    if (!pending) {
      pending = this.download(layer);
      this.fetches.set(digest, pending);
      pending.catch(() => this.fetches.delete(digest));
    }
    await pending;
  }

  private async download(layer: Layer): Promise<void> {
    const digest = layer.descriptor.digest;
    const remote = (this.opts.remotes ?? []).find((r) => r.hasBlob(digest));
    if (!remote) throw new Error(`layer ${digest} is neither in the store nor in any --cache-from source`);
    await remote.fetch(layer);
    for (const record of this.awaitingBlob.get(digest) ?? []) await this.opts.store.put(record);
    this.awaitingBlob.delete(digest);
  }
}

function hitClaim(hit: CacheRecord): StepClaim {
  return { hit, commit: async () => undefined, release: async () => undefined };
}

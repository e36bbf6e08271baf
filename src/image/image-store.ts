/**
 * The local tag store: image names → manifest descriptors.
 *
 * `new ImageStore(root)` with `root` = `$TSBUILD_ROOT/images`. One small JSON
 * file per name (`{"name": ..., "manifest": {...}}`), its file name the
 * URI-encoded `formatReference(ref)` (or its sha256 when that would be too
 * long for a file name), written to a temp file and renamed into
 * place so readers never see a torn write and the last tagger wins.
 *
 * - `tag(ref, manifest)`: points the name at the manifest.
 * - `resolve(ref)`: the descriptor, or undefined when the name is unknown.
 * - `remove(ref)`: forgets the name (true if it existed); blobs stay for the
 *   cache's garbage collection.
 * - `list()`: every name with its descriptor, sorted by name.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { nodeCrypto } from '../lazy-crypto.ts';
import { randomHex } from '../random-hex.ts';
import type { Descriptor } from './oci.ts';
import { formatReference, type Reference } from './reference.ts';

interface TagFile {
  name: string;
  manifest: Descriptor;
}

const SUFFIX = '.json';
const MAX_ENCODED = 200;

export class ImageStore {
  constructor(readonly root: string) {}

  private file(name: string): string {
    const encoded = encodeURIComponent(name);
    const base = encoded.length <= MAX_ENCODED ? encoded : `sha256-${nodeCrypto().createHash('sha256').update(name).digest('hex')}`;
    return join(this.root, base + SUFFIX);
  }

  async tag(ref: Reference, manifest: Descriptor): Promise<void> {
    const name = formatReference(ref);
    await mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${randomHex(16)}`);
    const body: TagFile = { name, manifest };
    try {
      await writeFile(tmp, JSON.stringify(body) + '\n');
      await rename(tmp, this.file(name));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async resolve(ref: Reference): Promise<Descriptor | undefined> {
    return (await this.read(this.file(formatReference(ref))))?.manifest;
  }

  async remove(ref: Reference): Promise<boolean> {
    try {
      await unlink(this.file(formatReference(ref)));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async list(): Promise<{ name: string; manifest: Descriptor }[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: TagFile[] = [];
    for (const n of names) {
      if (n.startsWith('.') || !n.endsWith(SUFFIX)) continue;
      const entry = await this.read(join(this.root, n));
      if (entry) out.push(entry);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A name's file, read synchronously: it is a few hundred bytes, read by every build, and fs/promises' readFile takes four thread pool round trips. */
  private async read(path: string): Promise<TagFile | undefined> {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as TagFile;
    } catch {
      throw new UserError(`image store entry ${path} is corrupt; delete it and tag again`);
    }
  }
}

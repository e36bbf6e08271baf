/**
 * Reads an exported OCI image layout and reduces it to the facts the
 * conformance comparison looks at: the image config, the final root
 * filesystem (the layers applied in order, in memory: no mounts, no root
 * privileges needed) and, per layer, the paths it changes.
 *
 *   const img = await readImage('/tmp/x/oci');
 *   img.fs.get('etc/passwd')   // { type: 'file', mode: '0644', digest: 'sha256:…', … }
 *   img.layers[1]              // ['app/', 'app/main.js', '-tmp/old'] ("-" marks a deletion)
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { ORIGINAL_CONFIG } from './builders.ts';

/** What one path of the final filesystem is. Hardlinked paths share one FileFacts object. */
export interface FileFacts {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  /** Permission and special bits, four octal digits. */
  mode: string;
  uid: number;
  gid: number;
  /** Bytes of a regular file; 0 otherwise. */
  size: number;
  /** sha256 of a regular file's content. */
  digest?: string;
  /** A symlink's target. */
  target?: string;
  /** `major:minor` of a device. */
  device?: string;
  /** Extended attributes (PAX `SCHILY.xattr.*`), name → value. */
  xattrs: Record<string, string>;
}

/** An exported image, reduced for comparison. */
export interface ImageFacts {
  /** The image config exactly as stored (the parsed JSON). */
  config: Record<string, unknown>;
  /** Final root filesystem: path (relative, no leading `/` or `./`, no trailing `/`) → facts. */
  fs: Map<string, FileFacts>;
  /**
   * One sorted list per layer, base first: every path the layer writes (dirs
   * with a trailing `/`) and every path it deletes, prefixed with `-`.
   * Deletions are the effect (what was there before and is gone after), so an
   * opaque whiteout and the equivalent explicit ones give the same list.
   */
  layers: string[][];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { os?: string; architecture?: string };
}

/** Reads the single image (linux/amd64 when the layout holds an index) of the layout at `dir`. */
export async function readImage(dir: string): Promise<ImageFacts> {
  const blob = (d: Descriptor): string => join(dir, 'blobs', ...d.digest.split(':'));
  const json = async (path: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  let node = await json(join(dir, 'index.json'));
  while (Array.isArray(node.manifests)) {
    const list = node.manifests as Descriptor[];
    const pick = list.find((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === 'amd64')) ?? list[0];
    if (!pick) throw new Error(`${dir}: index.json lists no manifest`);
    node = await json(blob(pick));
  }
  const config = (await readFile(join(dir, ORIGINAL_CONFIG), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => undefined)) ?? (await json(blob(node.config as Descriptor)));
  const fs = new Map<string, FileFacts>();
  const layers: string[][] = [];
  for (const layer of (node.layers as Descriptor[] | undefined) ?? []) layers.push(await applyLayer(fs, blob(layer)));
  return { config, fs, layers };
}

/** tar-stream decodes PAX records as UTF-8 text: binary xattr values compare as their (lossy) decoding. */
type TarHeader = Omit<Header, 'pax'> & { pax?: Record<string, string> | null };

/** An entry's body as tar-stream hands it out. */
type Body = AsyncIterable<unknown> & { resume(): unknown };

/** Strips `./`, leading and trailing slashes: `./a/b/` → `a/b`; the root becomes ''. */
function cleanPath(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

function removeTree(fs: Map<string, FileFacts>, path: string): void {
  fs.delete(path);
  const prefix = `${path}/`;
  for (const p of fs.keys()) if (p.startsWith(prefix)) fs.delete(p);
}

/** Applies one layer blob (plain or gzip tar) to `fs` and returns the paths it changes. */
async function applyLayer(fs: Map<string, FileFacts>, path: string): Promise<string[]> {
  const before = new Map(fs);
  const written: string[] = [];
  const opaque: string[] = [];
  const whiteouts: string[] = [];
  // the layer's own entries survive its opaque whiteouts, wherever they sit in the tar
  const ownEntries = new Set<string>();

  const head = Buffer.alloc(4);
  const fh = await open(path, 'r');
  await fh.read(head, 0, 4, 0);
  await fh.close();
  if (head.readUInt32BE(0) === 0x28b52ffd) throw new Error(`${path}: zstd layers are not supported by the comparison`);
  const gzip = head[0] === 0x1f && head[1] === 0x8b;

  const tar = extract();
  const reading = (async () => {
    for await (const entry of tar) {
      const h = entry.header as TarHeader;
      const name = cleanPath(h.name);
      const base = name.slice(name.lastIndexOf('/') + 1);
      if (base === '.wh..wh..opq') {
        opaque.push(parentOf(name));
        entry.resume();
        continue;
      }
      if (base.startsWith('.wh.')) {
        whiteouts.push(`${parentOf(name) ? `${parentOf(name)}/` : ''}${base.slice(4)}`);
        entry.resume();
        continue;
      }
      if (name === '') {
        entry.resume();
        continue;
      }
      const facts = await entryFacts(h, entry, fs);
      ownEntries.add(name);
      const existing = fs.get(name);
      if (!(existing?.type === 'dir' && facts.type === 'dir')) removeTree(fs, name);
      fs.set(name, facts);
      written.push(facts.type === 'dir' ? `${name}/` : name);
    }
  })();
  const source = gzip ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  await Promise.all([pipeline(source, tar), reading]);

  for (const dir of opaque) {
    const prefix = dir === '' ? '' : `${dir}/`;
    for (const [p] of before) if (p.startsWith(prefix) && p !== dir && !ownEntries.has(p) && fs.get(p) === before.get(p)) fs.delete(p);
  }
  for (const w of whiteouts) if (!ownEntries.has(w)) removeTree(fs, w);

  // deletions as an effect: lower paths now gone whose parent is still there
  const deleted = [...before.keys()].filter((p) => !fs.has(p) && (parentOf(p) === '' || fs.has(parentOf(p)))).map((p) => `-${p}`);
  return [...new Set([...written, ...deleted])].sort();
}

async function entryFacts(h: TarHeader, body: Body, fs: Map<string, FileFacts>): Promise<FileFacts> {
  const xattrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(h.pax ?? {}) as [string, string][]) if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice('SCHILY.xattr.'.length)] = v;
  const common = { mode: ((h.mode ?? 0) & 0o7777).toString(8).padStart(4, '0'), uid: h.uid ?? 0, gid: h.gid ?? 0, xattrs };
  switch (h.type) {
    case 'link': {
      body.resume();
      const target = fs.get(cleanPath(h.linkname ?? ''));
      if (!target) throw new Error(`hardlink ${h.name} → ${h.linkname}: target not found`);
      return target;
    }
    case 'file':
    case 'contiguous-file':
    case null:
    case undefined: {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of body) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return { type: 'file', ...common, size, digest: `sha256:${hash.digest('hex')}` };
    }
    case 'directory':
      body.resume();
      return { type: 'dir', ...common, size: 0 };
    case 'symlink':
      body.resume();
      return { type: 'symlink', ...common, size: 0, target: h.linkname ?? '' };
    case 'character-device':
    case 'block-device':
      body.resume();
      return { type: h.type === 'character-device' ? 'char' : 'block', ...common, size: 0, device: `${h.devmajor ?? 0}:${h.devminor ?? 0}` };
    case 'fifo':
      body.resume();
      return { type: 'fifo', ...common, size: 0 };
    default:
      throw new Error(`unexpected tar entry type ${h.type} for ${h.name}`);
  }
}

/**
 * The final filesystem as plain, comparable records: FileFacts plus `links`,
 * the other paths that are hardlinks to the same file.
 */
export function fsRecords(fs: Map<string, FileFacts>): Map<string, FileFacts & { links?: string[] }> {
  const byNode = new Map<FileFacts, string[]>();
  for (const [p, f] of fs) byNode.set(f, [...(byNode.get(f) ?? []), p]);
  const out = new Map<string, FileFacts & { links?: string[] }>();
  for (const p of [...fs.keys()].sort()) {
    const f = fs.get(p)!;
    const others = byNode.get(f)!.filter((o) => o !== p).sort();
    out.set(p, others.length ? { ...f, links: others } : { ...f });
  }
  return out;
}

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildContext } from '../context/build-context.ts';
import type { ContextEntry } from '../context/tree.ts';
import type { Digest } from '../image/oci.ts';
import type { Plan, ResolvedImage, StageBase, Step } from '../planner/plan.ts';
import { writeFileAtomic } from '../write-file-atomic.ts';

/** One vertex of a build as recorded: everything its key was made of, to say later what changed. */
export interface VertexRecord {
  id: string;
  name: string;
  /** Dockerfile line of the instruction. */
  line: number;
  key: Digest;
  parentKey: Digest;
  parents: string[];
  /** The operation as it went into the key (images as their manifest digests). */
  op: unknown;
  inputs: Record<string, string>;
  /** Names of the inputs that are build-context digests (their file lists are kept, see BuildHistory). */
  contextInputs: string[];
}

export interface StageRecord {
  index: number;
  name?: string;
  /** `scratch`, `stage N`, or the base image's name. */
  base: string;
  /** The base image's manifest digest. */
  baseDigest?: Digest;
  /** Names the stage's ENV sets (to tell an ENV from a build arg in a RUN's environment). */
  envKeys: string[];
}

/** The last build of one Dockerfile and target. */
export interface BuildRecord {
  version: 1;
  dockerfile: string;
  target: string;
  /** Names given with `--build-arg`. */
  buildArgs: string[];
  stages: StageRecord[];
  vertices: VertexRecord[];
}

/** A build context selection, entry by entry: path → `<type> <mode> <content digest, link target...>`. */
export type Listing = Map<string, string>;

/** A planned build as the history keeps it, with the file lists of its context inputs (made when first asked for). */
export interface BuildDescription {
  record: BuildRecord;
  listings: Map<string, () => Listing>;
}

const VERSION = 1;

/**
 * What the previous build of each Dockerfile and target was made of, under
 * `cache/builds/`: one record per (Dockerfile path, target) with every
 * vertex's key and inputs, and, per build-context digest, the list of files
 * and their digests it covered (`cache/builds/files/<digest>`, written once
 * per distinct digest). `--explain` compares a new plan with it.
 */
export class BuildHistory {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'cache', 'builds');
  }

  async last(dockerfile: string, target: string): Promise<BuildRecord | undefined> {
    try {
      const r = JSON.parse(await readFile(this.recordFile(dockerfile, target), 'utf8')) as BuildRecord;
      return r.version === VERSION && r.dockerfile === dockerfile && r.target === target ? r : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records a finished build (its record replaces the previous one; file lists are added). */
  async save(build: BuildDescription): Promise<void> {
    await mkdir(join(this.dir, 'files'), { recursive: true });
    for (const [digest, listing] of build.listings) {
      const file = this.listingFile(digest);
      if (await stat(file).then(() => false, () => true)) await writeFileAtomic(file, encodeListing(listing()));
    }
    const { dockerfile, target } = build.record;
    await writeFileAtomic(this.recordFile(dockerfile, target), JSON.stringify(build.record));
  }

  async listing(digest: string): Promise<Listing | undefined> {
    const text = await readFile(this.listingFile(digest), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : decodeListing(text);
  }

  /**
   * Every build record, the digests of every stored file list, and the
   * paths of files that are neither (unreadable records, temp files), for
   * garbage collection and `doctor`.
   */
  async contents(): Promise<{ records: BuildRecord[]; listings: string[]; junk: string[] }> {
    const records: BuildRecord[] = [];
    const junk: string[] = [];
    for (const name of await readdir(this.dir).catch(() => [])) {
      if (name === 'files') continue;
      const path = join(this.dir, name);
      try {
        if (!name.endsWith('.json')) throw new Error('not a record');
        records.push(JSON.parse(await readFile(path, 'utf8')) as BuildRecord);
      } catch {
        junk.push(path);
      }
    }
    const listings: string[] = [];
    for (const name of await readdir(join(this.dir, 'files')).catch(() => [])) {
      if (/^[a-f0-9]{64}$/.test(name)) listings.push(`sha256:${name}`);
      else junk.push(join(this.dir, 'files', name));
    }
    return { records, listings, junk };
  }

  async removeListing(digest: string): Promise<void> {
    await rm(this.listingFile(digest), { force: true });
  }

  private recordFile(dockerfile: string, target: string): string {
    return join(this.dir, `${createHash('sha256').update(`${dockerfile}\0${target}`).digest('hex').slice(0, 32)}.json`);
  }

  private listingFile(digest: string): string {
    return join(this.dir, 'files', digest.slice('sha256:'.length));
  }
}

/**
 * Describes a planned build for the history: call it before the context is
 * closed (the file lists come from its digests). `target` is the stage name
 * asked for, or empty for the default (last) stage.
 */
export async function describeBuild(
  plan: Plan,
  context: Pick<BuildContext, 'select' | 'entriesOf'>,
  meta: { dockerfile: string; target: string; buildArgs: readonly string[] },
): Promise<BuildDescription> {
  const listings = new Map<string, () => Listing>();
  const stages: StageRecord[] = plan.stages.map((s) => ({
    index: s.index,
    ...(s.name !== undefined && { name: s.name }),
    ...baseOf(s.base),
    envKeys: (s.config.Env ?? []).map((e) => e.split('=', 1)[0] as string),
  }));
  const vertices: VertexRecord[] = [];
  for (const stage of plan.stages) {
    for (const step of stage.steps) {
      const contextInputs: string[] = [];
      for (const [input, sources] of contextSources(step)) {
        const digest = step.inputs[input];
        if (digest === undefined) continue;
        contextInputs.push(input);
        if (listings.has(digest)) continue;
        const entries = context.entriesOf(await context.select(sources, step.location));
        let made: Listing | undefined;
        listings.set(digest, () => (made ??= listingOf(entries)));
      }
      vertices.push({
        id: step.id,
        name: step.name,
        line: step.location.line,
        key: step.key,
        parentKey: step.parentKey,
        parents: step.parents,
        op: opView(step.op),
        inputs: step.inputs,
        contextInputs,
      });
    }
  }
  return { record: { version: VERSION, dockerfile: meta.dockerfile, target: meta.target, buildArgs: [...meta.buildArgs], stages, vertices }, listings };
}

/** The operation as the planner keys it: a source image stands for its manifest digest. */
function opView(op: Step['op']): unknown {
  return JSON.parse(JSON.stringify(op, (k, v: unknown) => (k === 'image' && typeof v === 'object' && v !== null ? (v as ResolvedImage).manifest.digest : v)));
}

/** The inputs of a step that are build-context digests, with the sources that were selected for each. */
function contextSources(step: Step): [string, string[]][] {
  const op = step.op;
  if (op.op === 'copy') return op.from.kind === 'context' && op.sources.length > 0 ? [['context', op.sources]] : [];
  if (op.op !== 'run') return [];
  return op.mounts.flatMap((m, i): [string, string[]][] =>
    m.type === 'bind' && m.from.kind === 'context' ? [[`mount${i}`, [m.source === '/' ? '.' : m.source.slice(1)]]] : [],
  );
}

function baseOf(base: StageBase): { base: string; baseDigest?: Digest } {
  if (base.kind === 'scratch') return { base: 'scratch' };
  if (base.kind === 'stage') return { base: `stage ${base.stage}` };
  return { base: base.image.name, baseDigest: base.image.manifest.digest };
}

function listingOf(entries: readonly ContextEntry[]): Listing {
  const out: Listing = new Map();
  for (const e of entries) {
    const data = e.kind === 'file' ? (e.sha256 ?? '') : e.kind === 'symlink' ? (e.target ?? '') : e.rdev !== undefined ? String(e.rdev) : '';
    out.set(e.rel, `${e.kind} ${e.perm.toString(8).padStart(4, '0')} ${data}`);
  }
  return out;
}

// paths cannot hold NUL: path NUL description NUL ...
function encodeListing(listing: Listing): string {
  let out = '';
  for (const [path, desc] of listing) out += `${path}\0${desc}\0`;
  return out;
}

function decodeListing(text: string): Listing {
  const parts = text.split('\0');
  const out: Listing = new Map();
  for (let i = 0; i + 1 < parts.length; i += 2) out.set(parts[i] as string, parts[i + 1] as string);
  return out;
}

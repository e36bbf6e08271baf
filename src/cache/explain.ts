import { isDeepStrictEqual } from 'node:util';
import type { Digest } from '../image/oci.ts';
import { EPOCH_INPUT } from '../planner/plan.ts';
import type { BuildDescription, BuildHistory, BuildRecord, Listing, StageRecord, VertexRecord } from './build-history.ts';

/** A step that will not come from the cache, and why it is run. */
export interface Miss {
  id: string;
  name: string;
  reason: string;
}

export interface ExplainOptions {
  current: BuildDescription;
  /** The last build of the same Dockerfile and target, if any. */
  previous: BuildRecord | undefined;
  /** Where the previous build's file lists are. */
  history: BuildHistory;
  /** Whether the step with this key will be a cache hit. */
  isHit: (key: Digest) => Promise<boolean>;
  /** Why a key's record is ignored on purpose (`--no-cache`...), if it is. */
  ignored: (key: Digest) => string | undefined;
}

/** Names shown in one line are cut to this length. */
const MAX_NAME = 60;
/** Changed files named in one explanation. */
const MAX_FILES = 3;

/**
 * For each step of the plan that will miss the cache, the first input that
 * differs from the previous build of the same Dockerfile and target, in
 * words: `COPY . /app: 1 file changed: src/mod003/file004.txt`, `RUN …:
 * build arg VERSION changed 1 → 2`, `RUN …: FROM: base image digest changed`.
 * The base comes first, then the instruction itself, then its inputs (files,
 * source stages), then its parent step.
 */
export async function explainMisses(opts: ExplainOptions): Promise<Miss[]> {
  const { current, previous } = opts;
  const before = new Map((previous?.vertices ?? []).map((v) => [v.id, v]));
  const byId = new Map(current.record.vertices.map((v) => [v.id, v]));
  const misses: Miss[] = [];
  for (const v of current.record.vertices) {
    const ignored = opts.ignored(v.key);
    if (ignored === undefined && (await opts.isHit(v.key))) continue;
    const old = before.get(v.id);
    let reason: string;
    if (ignored !== undefined) reason = ignored;
    else if (!previous) reason = 'no earlier build of this Dockerfile and target to compare with';
    else if (!old) reason = `a new step: the last build had no step ${v.id}`;
    else if (old.key === v.key) reason = 'same inputs as the last build, but its cache record is gone (pruned, or lost with an interrupted build)';
    else reason = await changeOf(old, v, { ...opts, previous, byId });
    misses.push({ id: v.id, name: v.name, reason });
  }
  return misses;
}

/** `COPY . /app: 1 file changed: …`: a miss as one line. */
export function formatMiss(miss: Miss): string {
  return `${short(miss.name)}: ${miss.reason}`;
}

interface DiffContext extends ExplainOptions {
  previous: BuildRecord;
  byId: Map<string, VertexRecord>;
}

async function changeOf(old: VertexRecord, cur: VertexRecord, ctx: DiffContext): Promise<string> {
  const base = baseChange(old, cur, ctx);
  if (base) return base;
  if (!isDeepStrictEqual(old.op, cur.op)) return opChange(old, cur, ctx);
  const inputs = await inputChange(old, cur, ctx);
  if (inputs) return inputs;
  if (old.parentKey !== cur.parentKey) {
    const parent = cur.parents[0] !== undefined ? ctx.byId.get(cur.parents[0]) : undefined;
    return parent ? `its parent step changed: ${short(parent.name)} (${parent.id})` : 'its base changed';
  }
  return 'its inputs changed';
}

function stageOf(record: BuildRecord, vertexId: string): StageRecord | undefined {
  const label = vertexId.slice(0, vertexId.lastIndexOf('/'));
  return record.stages.find((s) => (s.name ?? `stage-${s.index}`) === label);
}

/** The first step of a stage built on an image: did the image change? */
function baseChange(old: VertexRecord, cur: VertexRecord, ctx: DiffContext): string | undefined {
  if (cur.parents.length > 0 || old.parentKey === cur.parentKey) return undefined;
  const was = stageOf(ctx.previous, old.id);
  const now = stageOf(ctx.current.record, cur.id);
  if (!was || !now) return undefined;
  if (was.base !== now.base) return `FROM: base image changed: was ${was.base}, is ${now.base}`;
  if (was.baseDigest !== now.baseDigest) return `FROM: base image digest changed: ${now.base} was ${shortDigest(was.baseDigest ?? '')}, is ${shortDigest(now.baseDigest ?? '')}`;
  return undefined;
}

type OpJson = Record<string, unknown>;

function opChange(old: VertexRecord, cur: VertexRecord, ctx: DiffContext): string {
  const a = old.op as OpJson;
  const b = cur.op as OpJson;
  if (a.op === 'run' && b.op === 'run' && isDeepStrictEqual(a.args, b.args)) {
    const env = envChange(a.env as string[], b.env as string[], old, cur, ctx);
    if (env) return env;
    for (const [field, what] of [
      ['user', 'USER'],
      ['workdir', 'WORKDIR'],
      ['network', 'RUN --network'],
      ['mounts', 'RUN --mount options'],
      ['files', 'the heredoc script'],
    ] as const) {
      if (!isDeepStrictEqual(a[field], b[field])) return `${what} changed${field === 'mounts' || field === 'files' ? '' : `: was ${JSON.stringify(a[field])}, is ${JSON.stringify(b[field])}`}`;
    }
  }
  if (a.op === 'copy' && b.op === 'copy' && old.name === cur.name) {
    if (!isDeepStrictEqual(a.inline, b.inline)) return 'heredoc content changed';
    if (!isDeepStrictEqual(a.from, b.from)) return 'its --from source changed';
  }
  if (a.op === 'mkdir' && b.op === 'mkdir' && a.path === b.path) return `USER changed: was ${JSON.stringify(a.user)}, is ${JSON.stringify(b.user)}`;
  if (old.name !== cur.name || old.line !== cur.line) return `Dockerfile line ${cur.line} changed: was ${JSON.stringify(short(old.name))}${old.line !== cur.line ? ` (line ${old.line})` : ''}`;
  return 'the instruction changed (SHELL, or an expanded value)';
}

/** The first variable of a RUN's environment that differs, named as the build arg or ENV it is. */
function envChange(a: readonly string[], b: readonly string[], old: VertexRecord, cur: VertexRecord, ctx: DiffContext): string | undefined {
  const was = envMap(a);
  const now = envMap(b);
  for (const name of new Set([...now.keys(), ...was.keys()])) {
    const x = was.get(name);
    const y = now.get(name);
    if (x === y) continue;
    const isEnv = (stageOf(ctx.current.record, cur.id)?.envKeys ?? []).includes(name) || (stageOf(ctx.previous, old.id)?.envKeys ?? []).includes(name);
    const buildArg = ctx.current.record.buildArgs.includes(name) || ctx.previous.buildArgs.includes(name);
    return valueChange(isEnv && !buildArg ? `ENV ${name}` : `build arg ${name}`, x, y);
  }
  return undefined;
}

/** How a named value changed: `set to`, `unset (was …)`, or `changed … → …`. */
function valueChange(what: string, was: string | undefined, now: string | undefined): string {
  if (was === undefined) return `${what} set to ${now}`;
  if (now === undefined) return `${what} unset (was ${was})`;
  return `${what} changed ${was} → ${now}`;
}

function envMap(env: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    out.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return out;
}

async function inputChange(old: VertexRecord, cur: VertexRecord, ctx: DiffContext): Promise<string | undefined> {
  for (const name of new Set([...Object.keys(cur.inputs), ...Object.keys(old.inputs)])) {
    const was = old.inputs[name];
    const now = cur.inputs[name];
    if (was === now) continue;
    if (was !== undefined && now !== undefined && cur.contextInputs.includes(name) && old.contextInputs.includes(name)) {
      const before = await ctx.history.listing(was);
      const after = ctx.current.listings.get(now)?.();
      const files = before && after ? fileChanges(before, after) : undefined;
      const where = name === 'context' ? '' : 'bind-mounted context: ';
      return `${where}${files ?? 'build context files changed'}`;
    }
    if (name === EPOCH_INPUT) return valueChange('SOURCE_DATE_EPOCH', was, now);
    if (name === 'from') return 'its --from source changed';
    if (name === 'inline') return 'heredoc content changed';
    if (name.startsWith('mount')) return 'the source of a RUN --mount changed';
    return `input ${name} changed`;
  }
  return undefined;
}

/** `1 file changed: a`, `2 files added: a, b; 1 file removed: c`. */
function fileChanges(before: Listing, after: Listing): string | undefined {
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [path, desc] of after) {
    const was = before.get(path);
    if (was === undefined) added.push(path);
    else if (was !== desc) changed.push(kindChange(was, desc) ? `${path} (${kindChange(was, desc)})` : path);
  }
  for (const path of before.keys()) if (!after.has(path)) removed.push(path);
  const parts = [
    [changed, 'changed'],
    [added, 'added'],
    [removed, 'removed'],
  ] as const;
  const said = parts.filter(([list]) => list.length > 0).map(([list, verb]) => `${count(list.length)} ${verb}: ${names(list)}`);
  return said.length > 0 ? said.join('; ') : undefined;
}

/** What changed besides content: the type or the mode. */
function kindChange(was: string, now: string): string | undefined {
  const [t1, m1] = was.split(' ');
  const [t2, m2] = now.split(' ');
  if (t1 !== t2) return `was a ${t1}, is a ${t2}`;
  if (m1 !== m2) return `mode ${m1} → ${m2}`;
  return undefined;
}

function count(n: number): string {
  return n === 1 ? '1 file' : `${n} files`;
}

function names(list: readonly string[]): string {
  const shown = list.slice(0, MAX_FILES).join(', ');
  return list.length > MAX_FILES ? `${shown} and ${list.length - MAX_FILES} more` : shown;
}

function short(name: string): string {
  const one = name.replace(/\s+/g, ' ');
  return one.length > MAX_NAME ? `${one.slice(0, MAX_NAME - 1)}…` : one;
}

function shortDigest(d: string): string {
  return d.slice(0, 'sha256:'.length + 12);
}

/**
 * Compares tsbuild's image with the peer's: BuildKit's image of the same
 * fixture, or the checked-in expectation (`expected.json`) derived from the
 * Dockerfile reference for features this BuildKit predates. Each comparison
 * gives null (match) or the first difference as one line.
 */
import { createHash } from 'node:crypto';
import { fsRecords, type FileFacts, type ImageFacts } from './image.ts';
import { dropEmptyLayers, dropRuntimeMountPoints, normaliseConfig, normaliseFile } from './normalise.ts';

/** The outcome for one fixture: null where it matches, else the first difference. */
export interface Verdict {
  config: string | null;
  fs: string | null;
  layers: string | null;
}

/** Compares tsbuild's image (`ours`) with BuildKit's (`theirs`). */
export function compareWithPeer(fixture: string, oursAsBuilt: ImageFacts, theirsAsBuilt: ImageFacts, mountStubs: ReadonlySet<string> = new Set()): Verdict {
  const stubsOnlyTheirs = (facts: ImageFacts, other: ImageFacts): ImageFacts => {
    const fs = new Map(facts.fs);
    for (const path of mountStubs) {
      const f = fs.get(path);
      if (f && !other.fs.has(path) && (f.type === 'dir' || (f.type === 'file' && f.size === 0))) fs.delete(path);
    }
    // a stub, or a directory entry that is only there as a stub's parent (nothing else below it changed)
    const isStub = (p: string, paths: readonly string[]): boolean => {
      const path = p.replace(/\/$/, '');
      if (!mountStubs.has(path)) return false;
      if (!other.fs.has(path)) return true;
      return p.endsWith('/') && !paths.some((q) => q !== p && q.replace(/^-/, '').startsWith(p) && !mountStubs.has(q.replace(/^-/, '').replace(/\/$/, '')));
    };
    const layers = facts.layers.map((paths) => paths.filter((p) => !isStub(p, paths)));
    return { ...facts, fs, layers };
  };
  // the layer lists are filtered on both sides alike; only BuildKit's file system keeps the stubs
  const theirsFiltered = stubsOnlyTheirs(theirsAsBuilt, oursAsBuilt);
  const oursFiltered = { ...oursAsBuilt, layers: stubsOnlyTheirs(oursAsBuilt, theirsAsBuilt).layers };
  const ours = dropEmptyLayers(dropRuntimeMountPoints(oursFiltered));
  const theirs = dropEmptyLayers(dropRuntimeMountPoints(theirsFiltered));
  return {
    config: firstDiff(normaliseConfig(ours.config), normaliseConfig(theirs.config), 'config'),
    fs: compareFs(fixture, ours, theirs),
    layers: compareLayers(ours.layers, theirs.layers),
  };
}

/** Facts of one path as `expected.json` states them; `content` (text) stands for the digest. */
export type ExpectedFile = Partial<Omit<FileFacts, 'xattrs'>> & { content?: string; xattrs?: Record<string, string>; links?: string[] };

/** The checked-in description of the right result, for fixtures BuildKit 0.8 cannot build. */
export interface Expected {
  /** Where the expectation comes from (the reference section, a vector), for readers. */
  source: string;
  /** Fields of the image config's `config` object (e.g. Env, Cmd, Healthcheck), compared exactly. */
  config?: Record<string, unknown>;
  /** Facts of these paths, compared field by field (only the fields given). */
  files?: Record<string, ExpectedFile>;
  /** Paths that must not exist. */
  absent?: string[];
  /** Per layer added on top of the base (base first): the paths it changes, as ImageFacts.layers lists them. */
  layers?: string[][];
}

/** Compares tsbuild's image with an expectation; the base image's one layer is not part of `layers`. */
export function compareWithExpected(ours: ImageFacts, expected: Expected): Verdict {
  const inner = (ours.config.config ?? {}) as Record<string, unknown>;
  let config: string | null = null;
  for (const [k, v] of Object.entries(expected.config ?? {})) {
    config = firstDiff(inner[k] ?? null, v, `config.config.${k}`, 'expected');
    if (config) break;
  }
  const records = fsRecords(ours.fs);
  let fs: string | null = null;
  for (const [path, want] of Object.entries(expected.files ?? {})) {
    const got = records.get(path);
    if (!got) {
      fs = `${path}: missing in tsbuild`;
      break;
    }
    const { content, ...facts } = want;
    const wanted: Record<string, unknown> = { ...facts };
    if (content !== undefined) wanted.digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    for (const [field, value] of Object.entries(wanted)) {
      fs = firstDiff((got as unknown as Record<string, unknown>)[field] ?? null, value, `${path}: ${field}`, 'expected');
      if (fs) break;
    }
    if (fs) break;
  }
  if (!fs) {
    const present = (expected.absent ?? []).find((p) => records.has(p));
    if (present !== undefined) fs = `${present}: should not exist (tsbuild has it)`;
  }
  const layers = expected.layers ? compareLayers(ours.layers.slice(1), expected.layers, 'expected', 2) : null;
  return { config, fs, layers };
}

function compareFs(fixture: string, ours: ImageFacts, theirs: ImageFacts): string | null {
  const a = fsRecords(ours.fs);
  const b = fsRecords(theirs.fs);
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(path);
    const y = b.get(path);
    if (!x) return `/${path}: only in buildkit (${describe(y!)})`;
    if (!y) return `/${path}: only in tsbuild (${describe(x)})`;
    const d = firstDiff(normaliseFile(fixture, path, x), normaliseFile(fixture, path, y), `/${path}`);
    if (d) return d;
  }
  return null;
}

function describe(f: FileFacts): string {
  return `${f.type} ${f.mode} ${f.uid}:${f.gid}${f.type === 'file' ? ` ${f.size}B` : ''}${f.target !== undefined ? ` → ${f.target}` : ''}`;
}

function compareLayers(ours: string[][], theirs: string[][], peer = 'buildkit', firstNumber = 1): string | null {
  if (ours.length !== theirs.length) {
    return `layer count: tsbuild ${ours.length + firstNumber - 1} vs ${peer} ${theirs.length + firstNumber - 1}${layerHint(ours, theirs, peer)}`;
  }
  for (let i = 0; i < ours.length; i++) {
    const d = setDiff(ours[i]!, theirs[i]!, peer);
    if (d) return `layer ${i + firstNumber}: ${d}`;
  }
  return null;
}

/** For a count mismatch, the first layer whose paths differ, to say where the split happened. */
function layerHint(ours: string[][], theirs: string[][], peer: string): string {
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    const d = setDiff(ours[i]!, theirs[i]!, peer);
    if (d) return ` (from layer ${i + 1}: ${d})`;
  }
  return '';
}

function setDiff(ours: readonly string[], theirs: readonly string[], peer: string): string | null {
  const a = new Set(ours);
  const b = new Set(theirs);
  const onlyOurs = ours.filter((p) => !b.has(p));
  const onlyTheirs = theirs.filter((p) => !a.has(p));
  if (!onlyOurs.length && !onlyTheirs.length) return null;
  const list = (xs: string[]): string => xs.slice(0, 4).join(' ') + (xs.length > 4 ? ` …(+${xs.length - 4})` : '');
  return [onlyOurs.length ? `only tsbuild: ${list(onlyOurs)}` : '', onlyTheirs.length ? `only ${peer}: ${list(onlyTheirs)}` : ''].filter(Boolean).join('; ');
}

/** The first place two JSON-like values differ, as `where: tsbuild X vs buildkit Y`; null when equal. */
function firstDiff(ours: unknown, theirs: unknown, where: string, peer = 'buildkit'): string | null {
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
      if (i >= ours.length) return `${where}[${i}]: missing in tsbuild, ${peer} ${show(theirs[i])}`;
      if (i >= theirs.length) return `${where}[${i}]: tsbuild ${show(ours[i])}, missing in ${peer}`;
      const d = firstDiff(ours[i], theirs[i], `${where}[${i}]`, peer);
      if (d) return d;
    }
    return null;
  }
  if (isObject(ours) && isObject(theirs)) {
    for (const k of [...new Set([...Object.keys(ours), ...Object.keys(theirs)])].sort()) {
      if (!(k in ours)) return `${where}.${k}: missing in tsbuild, ${peer} ${show(theirs[k])}`;
      if (!(k in theirs)) return `${where}.${k}: tsbuild ${show(ours[k])}, missing in ${peer}`;
      const d = firstDiff(ours[k], theirs[k], `${where}.${k}`, peer);
      if (d) return d;
    }
    return null;
  }
  return ours === theirs ? null : `${where}: tsbuild ${show(ours)} vs ${peer} ${show(theirs)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

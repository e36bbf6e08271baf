/**
 * The conformance fixtures: one directory per Dockerfile under
 * `fixtures/conformance/`, with its context files and optional
 *
 * - `fixture.json`: `{ "peer": "buildkit" | "reference", "buildArgs": {…},
 *   "target": "stage", "parents": { "ARG": "subdir" }, "secrets": { "id":
 *   "file" } }` (all optional; the peer defaults to buildkit). Secrets reach
 *   both builders as `--secret id=ID,src=CTX/file`. A parent subdir is built first (by BuildKit)
 *   and pushed to the registry; its reference reaches both builders as
 *   `--build-arg ARG=…` (for ONBUILD, which only fires from a base image).
 * - `expected.json` (peer "reference"): see compare.ts `Expected`.
 * - `prepare.sh`: run as `bash prepare.sh CTX` on the copied context, for what
 *   git cannot hold (modes, owners, hardlinks, FIFOs, sockets, xattrs).
 * - `gen-context.sh`: generates the whole context (the bench scenarios).
 *
 * In the Dockerfile, `@@BASE@@` and `@@FILES_URL@@` are replaced by the
 * base image reference and the file server's URL before the build, for the
 * places BuildKit v0.8 does not expand build args (`--from=`, mount `from=`).
 *
 * Directories whose name starts with `_` are not fixtures (`_served/` holds
 * what the loopback HTTP server serves).
 */
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixture as fixturePath, mustRun } from '../test/helpers/tsbuild.ts';
import type { Expected } from './compare.ts';

/** One fixture, as found on disk. */
export interface Fixture {
  name: string;
  dir: string;
  peer: 'buildkit' | 'reference';
  buildArgs: Record<string, string>;
  target?: string;
  parents: Record<string, string>;
  /** Secret id → file in the context. */
  secrets: Record<string, string>;
  expected?: Expected;
}

interface FixtureJson {
  peer?: 'buildkit' | 'reference';
  buildArgs?: Record<string, string>;
  target?: string;
  parents?: Record<string, string>;
  secrets?: Record<string, string>;
}

/** Files that describe the fixture rather than belong to its context. */
const META = ['fixture.json', 'expected.json', 'prepare.sh', 'gen-context.sh'];

/** The fixtures dir. */
export const FIXTURES_DIR = fixturePath('conformance');

/** Lists the fixtures (all, or those named), sorted by name; an unknown name is an error. */
export async function loadFixtures(names: readonly string[] = []): Promise<Fixture[]> {
  const all = (await readdir(FIXTURES_DIR, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
    .map((d) => d.name)
    .sort();
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length) throw new Error(`no such fixture: ${unknown.join(', ')} (see ${FIXTURES_DIR})`);
  const chosen = names.length ? all.filter((n) => names.includes(n)) : all;
  return Promise.all(chosen.map(loadFixture));
}

async function loadFixture(name: string): Promise<Fixture> {
  const dir = join(FIXTURES_DIR, name);
  const meta = existsSync(join(dir, 'fixture.json')) ? (JSON.parse(await readFile(join(dir, 'fixture.json'), 'utf8')) as FixtureJson) : {};
  const peer = meta.peer ?? 'buildkit';
  const f: Fixture = { name, dir, peer, buildArgs: meta.buildArgs ?? {}, parents: meta.parents ?? {}, secrets: meta.secrets ?? {} };
  if (meta.target !== undefined) f.target = meta.target;
  if (peer === 'reference') {
    if (!existsSync(join(dir, 'expected.json'))) throw new Error(`${name}: peer "reference" needs an expected.json`);
    f.expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Expected;
  }
  return f;
}

/**
 * Writes the fixture's build context into `ctx` (which must not exist): the
 * generated one, or a copy of the fixture dir without its META files, then
 * prepare.sh on it.
 */
export async function prepareContext(f: Fixture, ctx: string, placeholders: Record<string, string>): Promise<void> {
  if (existsSync(join(f.dir, 'gen-context.sh'))) {
    await mustRun('bash', [join(f.dir, 'gen-context.sh'), ctx]);
    return;
  }
  await cp(f.dir, ctx, { recursive: true, verbatimSymlinks: true });
  for (const m of META) await rm(join(ctx, m), { force: true });
  if (existsSync(join(f.dir, 'prepare.sh'))) await mustRun('bash', [join(f.dir, 'prepare.sh'), ctx], { cwd: ctx });
  const dockerfile = join(ctx, 'Dockerfile');
  let text = await readFile(dockerfile, 'utf8');
  for (const [k, v] of Object.entries(placeholders)) text = text.replaceAll(`@@${k}@@`, v);
  await writeFile(dockerfile, text);
}

/**
 * `npm run conformance [-- FIXTURE…]`: builds each fixture under
 * `fixtures/conformance/` with BuildKit (a private dockerd) and with tsbuild,
 * compares the two images (config, final filesystem, layers) or, for
 * fixtures this BuildKit predates, tsbuild's image with the checked-in
 * expectation, and prints one table row per fixture. Exits 1 when any
 * fixture mismatches; always prints the whole table first. dockerd, the
 * registry and the file server are stopped on every way out.
 *
 * `npm run conformance -- --normalisations` prints the normalisation list;
 * `--keep` leaves each fixture's context and both OCI layouts in the work dir
 * (printed at the end) for a closer look.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable } from '../bench/stats.ts';
import { BASE_TAG, makeBusyboxLayout, pushBase } from '../test/helpers/base-image.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { mustRun } from '../test/helpers/tsbuild.ts';
import { BuildFailed, buildkitBuild, buildWithBuildkit, buildWithTsbuild, type BuildInput } from './builders.ts';
import { compareWithExpected, compareWithPeer, type Verdict } from './compare.ts';
import { startDockerd, unmountUnder, type Dockerd } from './dockerd.ts';
import { loadFixtures, prepareContext, type Fixture } from './fixtures.ts';
import { startFileServer } from './http-server.ts';
import { readImage } from './image.ts';
import { mountTargets, NORMALISATIONS } from './normalise.ts';

interface Row {
  fixture: string;
  peer: Fixture['peer'];
  verdict?: Verdict;
  error?: string;
}

/** Cleanups, newest first; run once whatever ends the process. */
const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        process.stderr.write(`conformance: cleanup: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nconformance: ${signal}, stopping dockerd and the registry\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const log = (s: string): void => {
  process.stderr.write(`conformance: ${s}\n`);
};

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--normalisations')) {
    printTable(['normalisation', 'applies to', 'reason'], NORMALISATIONS.map((n) => [n.id, n.applies, n.reason]));
    return 0;
  }
  const fixtures = await loadFixtures(argv.filter((a) => !a.startsWith('-')));
  await mustRun('bash', [fileURLToPath(new URL('setup.sh', import.meta.url))]);

  const keep = argv.includes('--keep');
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-conformance-'));
  cleanups.push(async () => {
    await unmountUnder(work);
    if (keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  });
  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  await pushBase(registry.host, await makeBusyboxLayout(join(work, 'base')));
  const files = await startFileServer();
  cleanups.push(() => files.stop());
  log(`registry ${registry.host}, files ${files.url}; starting dockerd`);
  const dockerd = await startDockerd({ insecureRegistry: registry.host });
  cleanups.push(() => dockerd.stop());

  const tsbuildRoot = join(work, 'tsbuild-root');
  const rows: Row[] = [];
  for (const f of fixtures) {
    const started = Date.now();
    const row = await runFixture(f, { work, dockerd, tsbuildRoot, registry: registry.host, filesUrl: files.url, keep });
    rows.push(row);
    log(`${f.name}: ${row.error ? 'error' : summary(row.verdict!)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }

  const mark = (r: Row, k: keyof Verdict): string => (r.verdict ? (r.verdict[k] === null ? 'yes' : 'NO') : '-');
  printTable(
    ['fixture', 'peer', 'config', 'filesystem', 'layers', 'first difference'],
    rows.map((r) => [r.fixture, r.peer, mark(r, 'config'), mark(r, 'fs'), mark(r, 'layers'), r.error ?? firstDifference(r.verdict!)]),
  );
  const passed = rows.filter((r) => r.verdict && !r.verdict.config && !r.verdict.fs && !r.verdict.layers).length;
  process.stdout.write(`\n${passed}/${rows.length} fixtures match\n`);
  return passed === rows.length ? 0 : 1;
}

interface Env {
  work: string;
  dockerd: Dockerd;
  tsbuildRoot: string;
  registry: string;
  filesUrl: string;
  keep: boolean;
}

async function runFixture(f: Fixture, env: Env): Promise<Row> {
  const row: Row = { fixture: f.name, peer: f.peer };
  const dir = join(env.work, f.name);
  await mkdir(dir);
  try {
    const ctx = join(dir, 'ctx');
    const base = `${env.registry}/busybox:${BASE_TAG}`;
    await prepareContext(f, ctx, { BASE: base, FILES_URL: env.filesUrl });
    const dockerfile = await readFile(join(ctx, 'Dockerfile'), 'utf8');
    const buildArgs: Record<string, string> = { BASE: base, ...f.buildArgs };
    if (dockerfile.includes('FILES_URL')) buildArgs.FILES_URL = env.filesUrl;
    for (const [arg, sub] of Object.entries(f.parents)) {
      const ref = `${env.registry}/conformance-${f.name}-${sub}:latest`;
      await buildkitBuild(env.dockerd, { name: `${f.name}-${sub}`, context: join(ctx, sub), buildArgs }, ref);
      const pushed = await env.dockerd.docker(['push', ref]);
      if (pushed.code !== 0) throw new BuildFailed(`docker push ${ref} failed: ${pushed.stderr.trim()}`);
      buildArgs[arg] = ref;
    }
    const secrets = Object.fromEntries(Object.entries(f.secrets).map(([id, file]) => [id, join(ctx, file)]));
    const input: BuildInput = { name: f.name, context: ctx, buildArgs, secrets, ...(f.target !== undefined && { target: f.target }) };

    const ours = join(dir, 'tsbuild-oci');
    let tsbuildError: string | undefined;
    try {
      await buildWithTsbuild(env.tsbuildRoot, input, ours);
    } catch (e) {
      if (!(e instanceof BuildFailed)) throw e;
      tsbuildError = e.message;
    }
    if (f.peer === 'reference') {
      if (tsbuildError) row.error = tsbuildError;
      else row.verdict = compareWithExpected(await readImage(ours), f.expected!);
      return row;
    }
    const theirs = join(dir, 'buildkit-oci');
    try {
      await buildWithBuildkit(env.dockerd, input, dir, theirs);
    } catch (e) {
      if (!(e instanceof BuildFailed)) throw e;
      row.error = tsbuildError ? `both failed; ${tsbuildError}; ${e.message}` : e.message;
      return row;
    }
    if (tsbuildError) row.error = tsbuildError;
    else row.verdict = compareWithPeer(f.name, await readImage(ours), await readImage(theirs), mountTargets(await readFile(join(f.dir, 'Dockerfile'), 'utf8')));
    return row;
  } catch (e) {
    row.error = `harness: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    return row;
  } finally {
    if (!env.keep) await rm(dir, { recursive: true, force: true });
  }
}

function summary(v: Verdict): string {
  return `config ${v.config ? 'NO' : 'yes'}, filesystem ${v.fs ? 'NO' : 'yes'}, layers ${v.layers ? 'NO' : 'yes'}`;
}

function firstDifference(v: Verdict): string {
  if (v.config) return `config: ${v.config}`;
  if (v.fs) return `fs: ${v.fs}`;
  if (v.layers) return `layers: ${v.layers}`;
  return '';
}

let code = 1;
try {
  if (!existsSync('/usr/sbin/dockerd') && !process.argv.includes('--normalisations')) log('docker.io is missing: setup.sh installs it');
  code = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`conformance: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  await cleanUp();
}
process.exit(code);

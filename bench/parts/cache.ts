// `npm run bench -- cache`: incremental rebuilds, side by side with BuildKit
// and buildah in the same run (each warmed with one full build first):
//   steps no-op          rebuild with nothing changed
//   context-20k no-op    rebuild with nothing changed (20,000 files in COPY . .)
//   context-20k 1 file   one file of the context rewritten before each rebuild
//   build-args VERSION   --build-arg VERSION=N (a new N each run): the first
//                        RUN stays cached, the two after ARG VERSION run
// Seconds are medians of BENCH_RUNS runs (default 3), wall time of the whole
// command (process start-up included). The goal: tsbuild at most half of
// BuildKit's time on each line. As in the build bench, the builders take
// turns run by run (who goes first rotating) and each timed run starts after
// a `sync`, so a busy moment of this machine (a peer daemon starting, the
// write-back of a build) does not fall on one builder's runs only.
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run as runCommand } from '../../test/helpers/tsbuild.ts';
import { inTurn, scenarioContext, startPeers } from '../peers.ts';
import { median, printTable } from '../stats.ts';

interface Case {
  name: string;
  scenario: string;
  /** Runs before each timed rebuild (outside the timing), given the run number. */
  prepare?: (context: string, run: number) => Promise<void>;
  /** Build args of the timed rebuild. */
  args?: (run: number) => Record<string, string>;
}

const CASES: Case[] = [
  { name: 'steps no-op', scenario: 'steps' },
  { name: 'context-20k no-op', scenario: 'context-20k' },
  {
    name: 'context-20k 1 file changed',
    scenario: 'context-20k',
    prepare: async (context, run) => {
      const file = join(context, 'src', `mod${String(run % 200).padStart(3, '0')}`, 'file004.txt');
      const text = await readFile(file, 'utf8');
      await writeFile(file, `${text.slice(1)}${text[0]}`);
    },
  },
  { name: 'build-args VERSION=N', scenario: 'build-args', args: (run) => ({ VERSION: String(run + 2) }) },
];

export async function run(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const work = await mkdtemp(join(tmpdir(), 'bench-cache-'));
  const peers = await startPeers();
  try {
    for (const s of peers.skipped) process.stdout.write(`skipped ${s}\n`);
    const rows: string[][] = [];
    for (const c of CASES) {
      // a fresh context per builder: each one sees the same files and the same sequence of changes
      const contexts = new Map<string, string>();
      for (const b of peers.builders) {
        const dir = join(work, b.name);
        await rm(dir, { recursive: true, force: true });
        contexts.set(b.name, await scenarioContext(c.scenario, dir));
      }
      // the stat cache trusts no file younger than its racy window (2 s)
      await sleep(2500);
      for (const b of peers.builders) await b.build({ context: contexts.get(b.name) as string, noCache: false });
      const times = new Map<string, number[]>(peers.builders.map((b) => [b.name, []]));
      for (let n = 0; n < runs; n++) {
        for (const b of inTurn(peers.builders, n)) {
          const context = contexts.get(b.name) as string;
          await c.prepare?.(context, n);
          await runCommand('sync', []);
          const t0 = performance.now();
          await b.build({ context, noCache: false, ...(c.args && { buildArgs: c.args(n) }) });
          times.get(b.name)?.push((performance.now() - t0) / 1000);
        }
      }
      const medians = new Map([...times].map(([name, t]) => [name, median(t)]));
      const ts = medians.get('tsbuild') as number;
      const bk = medians.get('buildkit');
      const ba = medians.get('buildah');
      const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(3));
      rows.push([c.name, fmt(ts), fmt(bk), fmt(ba), bk === undefined ? '-' : (ts / bk).toFixed(2), ba === undefined ? '-' : (ts / ba).toFixed(2)]);
      process.stdout.write(`${c.name}: done\n`);
    }
    process.stdout.write(`\ncached rebuilds, median of ${runs} (seconds, whole command); goal ts/bk <= 0.50; load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores\n`);
    printTable(['rebuild', 'tsbuild', 'buildkit', 'buildah', 'ts/bk', 'ts/buildah'], rows);
  } finally {
    await peers.stop();
    await rm(work, { recursive: true, force: true });
  }
}

// Cold builds of every scenario in ../shared/bench/scenarios (copied under
// fixtures/conformance/bench-*), side by side with BuildKit and buildah in
// the same run. "Cold" = every step runs (--no-cache); each builder already
// holds the base image, as after a first pull. Medians of BENCH_RUNS runs (3);
// BENCH_SCENARIOS=a,b picks scenarios. The builders take turns, run by run,
// so that a noisy minute on this machine falls on all of them alike, and
// each timed run starts after a `sync`: no builder pays for writing back
// what the one before it left in the page cache. Who goes first rotates
// from run to run, so each builder follows each other one alike: this
// machine's ext4 is mounted with online discard, and right after a builder
// deletes a big tree (a finished container's 20,000 files), creating files
// is 15-25x slower for a while, whoever runs next.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as runCommand } from '../../test/helpers/tsbuild.ts';
import { inTurn, startPeers, scenarioContext } from '../peers.ts';
import { median, printTable, timeRuns } from '../stats.ts';

const ALL = ['steps', 'parallel-stages', 'context-20k', 'build-args', 'big-layer'];
/** `BENCH_SCENARIOS=steps,build-args` runs only those. */
const SCENARIOS = process.env.BENCH_SCENARIOS ? process.env.BENCH_SCENARIOS.split(',') : ALL;

export async function run(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const work = await mkdtemp(join(tmpdir(), 'bench-build-'));
  const peers = await startPeers();
  try {
    for (const s of peers.skipped) process.stdout.write(`skipped ${s}\n`);
    const rows: string[][] = [];
    for (const scenario of SCENARIOS) {
      const context = await scenarioContext(scenario, work);
      for (const b of peers.builders) await b.build({ context, noCache: false });
      const times = new Map<string, number[]>(peers.builders.map((b) => [b.name, []]));
      for (let n = 0; n < runs; n++) {
        for (const b of inTurn(peers.builders, n)) {
          await runCommand('sync', []);
          const [seconds] = await timeRuns(1, () => b.build({ context, noCache: true }));
          times.get(b.name)?.push(seconds as number);
        }
      }
      const medians = new Map([...times].map(([name, t]) => [name, median(t)]));
      const ts = medians.get('tsbuild') as number;
      const bk = medians.get('buildkit');
      const ba = medians.get('buildah');
      rows.push([
        scenario,
        ts.toFixed(2),
        bk === undefined ? '-' : bk.toFixed(2),
        ba === undefined ? '-' : ba.toFixed(2),
        bk === undefined ? '-' : (ts / bk).toFixed(2),
        ba === undefined ? '-' : (ts / ba).toFixed(2),
      ]);
      process.stdout.write(`${scenario}: done\n`);
    }
    process.stdout.write(`\ncold builds, median of ${runs} (seconds); parallel-stages ideal: 2.0 s (four 2 s stages at once, the unused 30 s stage never built)\n`);
    printTable(['scenario', 'tsbuild', 'buildkit', 'buildah', 'ts/bk', 'ts/buildah'], rows);
  } finally {
    await peers.stop();
    await rm(work, { recursive: true, force: true });
  }
}

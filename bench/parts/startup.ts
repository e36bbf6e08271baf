// `npm run bench -- startup`: how long the bundled CLI takes to start, next
// to the floor of any Node CLI (`node -e 0`). The goal is `tsbuild --help`
// within 2.5× of `node -e 0`. When the quick start has been run (the
// example image is in the store under $TSBUILD_ROOT or /var/lib/tsbuild), a
// fully cached build of examples/hello is timed too: the start-up a no-op
// rebuild pays on top of its own work (BuildKit's no-op: 0.12 s here).
//
// The commands run interleaved, round after round, so a noisy neighbour
// slows all of them alike; medians are reported, with each command's ratio
// to `node -e 0`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printTable } from '../stats.ts';

const ROUNDS = 21;
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(projectRoot, 'bin', 'tsbuild');

interface Command {
  name: string;
  /** The program and its arguments. */
  argv: [string, ...string[]];
}

function seconds([cmd, ...args]: readonly [string, ...string[]]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  const t = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return t;
}

/** Whether a cached build of the example can be timed: the quick start built it into this root. */
function exampleBuilt(): boolean {
  const root = process.env.TSBUILD_ROOT || '/var/lib/tsbuild';
  return existsSync(join(root, 'images')) && spawnSync(bin, ['inspect', 'tsbuild.local/hello:latest'], { stdio: 'ignore' }).status === 0;
}

export async function run(): Promise<void> {
  if (!existsSync(join(projectRoot, 'dist', 'tsbuild.mjs'))) throw new Error('dist/tsbuild.mjs is missing: run npm run build first');
  const commands: Command[] = [
    { name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
    { name: 'tsbuild --help', argv: [bin, '--help'] },
  ];
  if (exampleBuilt()) commands.push({ name: 'tsbuild build examples/hello (all cached)', argv: [bin, 'build', '-q', join(projectRoot, 'examples', 'hello')] });
  else process.stdout.write('(run bash scripts/quickstart.sh once to time a cached build of examples/hello too)\n');
  for (const c of commands) seconds(c.argv);
  const times = commands.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) commands.forEach((c, i) => times[i]?.push(seconds(c.argv)));
  const floor = median(times[0] ?? []);
  printTable(
    ['command', 'median s', 'min s', 'vs node -e 0'],
    commands.map((c, i) => {
      const ts = times[i] ?? [];
      return [c.name, median(ts).toFixed(3), Math.min(...ts).toFixed(3), `${(median(ts) / floor).toFixed(2)}×`];
    }),
  );
  const help = median(times[1] ?? []) / floor;
  process.stdout.write(`tsbuild --help: ${help.toFixed(2)}× node -e 0 (goal ≤ 2.5×: ${help <= 2.5 ? 'met' : 'not met'})\n`);
}

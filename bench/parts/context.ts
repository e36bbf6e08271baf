// `npm run bench -- context`: the context-20k scenario (20,000 files of 4 KiB
// plus ignored junk). Digests the whole context as `COPY . .` would, each run
// in a fresh process as a build does (open context, walk, hash, save the stat
// cache), next to `sha256sum` over the same files in the same run:
//   cold      empty stat cache (page cache warm, as for sha256sum)
//   warm      nothing changed since the last digest
//   1 changed one file rewritten since the last digest
// Seconds are medians; peak memory is the child process's max RSS. "files
// read" counts files hashed (a file changed less than 2 s before a digest is
// read again by the next one: the racy rule), "dirs listed" the directories
// read rather than answered by the stat cache's listings.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, printTable } from '../stats.ts';

const GEN = '/work/shared/bench/scenarios/context-20k/gen-context.sh';
const RUNS = 5;
const exec = promisify(execFile);
const buildContextUrl = new URL('../../src/context/build-context.ts', import.meta.url).href;
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

interface ChildResult {
  seconds: number;
  /** User + system CPU seconds, all threads. */
  cpu: number;
  maxRssKb: number;
  filesHashed: number;
  cacheHits: number;
  dirsRead: number;
  files: string[];
  bytes: number;
}

/** One digest of `dir` with the stat cache under `root`, in a fresh node process. */
async function digestInChild(dir: string, root: string, list = false): Promise<ChildResult> {
  const script = `
    const { BuildContext } = await import(${JSON.stringify(buildContextUrl)});
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const ctx = await BuildContext.open(${JSON.stringify(dir)}, { root: ${JSON.stringify(root)} });
    const sel = await ctx.select(['.'], { file: 'Dockerfile', line: 1, column: 1 });
    await ctx.digest(sel);
    await ctx.close();
    const seconds = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    const cpu = (c1.user + c1.system) / 1e6;
    const files = ${list} ? ctx.tree.below('.').filter((e) => e.kind === 'file').map((e) => e.rel) : [];
    process.stdout.write(JSON.stringify({ seconds, cpu, maxRssKb: process.resourceUsage().maxRSS, filesHashed: ctx.stats.filesHashed,
      cacheHits: ctx.stats.cacheHits, dirsRead: ctx.tree.listed.read, files, bytes: ctx.stats.bytesHashed }));`;
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as ChildResult;
}

/** `xargs -0 sha256sum < LIST` in `dir`: wall seconds, CPU seconds and max RSS (GNU time). */
async function sha256sum(dir: string, list: string): Promise<{ seconds: number; cpu: number; maxRssKb: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', 'sh', '-c', 'exec xargs -0 sha256sum < "$0" > /dev/null', list], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const [user, sys, rss] = (err.trim().split('\n').pop() ?? '').split(' ').map(Number);
      if (code !== 0) reject(new Error(`sha256sum failed: ${err}`));
      else resolve({ seconds, cpu: (user ?? 0) + (sys ?? 0), maxRssKb: rss ?? 0 });
    });
  });
}

export async function run(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'tsbuild-bench-context-'));
  try {
    const dir = join(tmp, 'ctx');
    process.stderr.write('generating context-20k...\n');
    await exec('bash', [GEN, dir]);
    // files younger than the racy window are not cached: let it pass
    await sleep(2500);

    const first = await digestInChild(dir, join(tmp, 'root-list'), true);
    const list = join(tmp, 'files0');
    await writeFile(list, first.files.map((f) => `${f}\0`).join(''));
    const mb = first.bytes / 1e6;
    await sha256sum(dir, list); // warms the page cache for both

    const peer: { seconds: number; cpu: number; maxRssKb: number }[] = [];
    const cold: ChildResult[] = [];
    for (let i = 0; i < RUNS; i++) {
      peer.push(await sha256sum(dir, list));
      const root = join(tmp, `root-cold-${i}`);
      cold.push(await digestInChild(dir, root));
    }
    const warmRoot = join(tmp, 'root-cold-0');
    const warm: ChildResult[] = [];
    for (let i = 0; i < RUNS; i++) warm.push(await digestInChild(dir, warmRoot));
    const changed: ChildResult[] = [];
    for (let i = 0; i < RUNS; i++) {
      const file = join(dir, first.files[1000 + i] as string);
      const text = await readFile(file, 'utf8');
      await writeFile(file, `${text.slice(1)}${text[0]}`);
      changed.push(await digestInChild(dir, warmRoot));
    }

    const peerS = median(peer.map((p) => p.seconds));
    const row = (name: string, rs: ChildResult[], throughput: boolean): string[] => {
      const s = median(rs.map((r) => r.seconds));
      return [
        name,
        s.toFixed(3),
        median(rs.map((r) => r.cpu)).toFixed(3),
        throughput ? (mb / s).toFixed(0) : '-',
        throughput ? `${((peerS / s) * 100).toFixed(0)}%` : '-',
        String(median(rs.map((r) => r.filesHashed))),
        String(median(rs.map((r) => r.dirsRead))),
        `${(median(rs.map((r) => r.maxRssKb)) / 1024).toFixed(0)} MiB`,
      ];
    };
    process.stdout.write(`context-20k: ${first.files.length} files, ${mb.toFixed(1)} MB in the context (node_modules and *.log ignored); medians of ${RUNS}\n`);
    printTable(
      ['digest', 'wall s', 'cpu s', 'MB/s', 'vs sha256sum', 'files read', 'dirs listed', 'peak RSS'],
      [
        ['sha256sum (same files)', peerS.toFixed(3), median(peer.map((p) => p.cpu)).toFixed(3), (mb / peerS).toFixed(0), '100%', String(first.files.length), '-', `${(median(peer.map((p) => p.maxRssKb)) / 1024).toFixed(0)} MiB`],
        row('tsbuild cold', cold, true),
        row('tsbuild warm, no change', warm, false),
        row('tsbuild warm, 1 file changed', changed, false),
      ],
    );
    process.stdout.write(`(tsbuild: open + walk + hash + stat-cache save, in a fresh process; cpu s counts every thread; peak RSS includes node and the tsx loader; load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores)\n`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

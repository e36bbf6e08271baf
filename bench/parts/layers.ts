// `npm run bench -- layers`: layer packing and compression.
//
// 1. The big-layer scenario's kind of data (128 MiB random + `seq 1 30000000`,
//    ~250 MB of text): tsbuild's writeLayer (walk, tar, compress, both
//    digests, write the blob) from the directory, side by side with `gzip -6`
//    and `pigz -6 -p 2` over a GNU tar of the same directory, and zstd.
// 2. Tar packing alone of the 20,000-file context-20k tree: tsbuild's layer
//    tar vs GNU tar, both into a pipe.
//
// Each measured run is a child process under /usr/bin/time, so the table
// has its peak memory (RSS) too; tsbuild's times are taken inside the child
// around the work itself, without node's start-up. Rounds alternate the
// tools; the table shows medians.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BlobStore } from '../../src/image/blob-store.ts';
import { parseCompression } from '../../src/image/compression.ts';
import { layerTar } from '../../src/image/layer-tar.ts';
import { writeLayer } from '../../src/image/layer-writer.ts';
import { median, printTable } from '../stats.ts';

const WORK = join(tmpdir(), 'tsbuild-bench-layers');
const BIG = join(WORK, 'big');
const BIG_TAR = join(WORK, 'big.tar');
const CONTEXT = join(WORK, 'context-20k');
const CONTEXT_SCRIPT = '/work/shared/bench/scenarios/context-20k/gen-context.sh';
const SELF = fileURLToPath(import.meta.url);

interface Measured {
  seconds: number;
  /** CPU seconds (user + system). */
  cpu: number;
  /** Peak resident memory, MB. */
  rssMB: number;
  /** Output bytes. */
  size: number;
}

function sh(script: string): string {
  return execFileSync('sh', ['-ec', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
}

/** Runs `argv` under GNU time; with `inner`, the time is the child's own report (a JSON line on stdout). */
function timed(argv: string[], inner: boolean, outFile?: string): Measured {
  const r = spawnSync('/usr/bin/time', ['-f', '@@ %e %U %S %M', ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const stats = /@@ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !stats) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  const [, wall, user, sys, rss] = stats.map(Number) as number[];
  const child = inner ? (JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}') as { seconds: number; cpu: number; size: number }) : undefined;
  return {
    seconds: child?.seconds ?? (wall as number),
    cpu: child?.cpu ?? (user as number) + (sys as number),
    rssMB: (rss as number) / 1024,
    size: child?.size ?? (outFile ? statSync(outFile).size : 0),
  };
}

function shTimed(script: string, outFile?: string): Measured {
  return timed(['sh', '-c', script], false, outFile);
}

function tsbuildChild(...args: string[]): Measured {
  return timed([process.execPath, '--import', 'tsx', SELF, '--child', ...args], true);
}

async function prepare(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  if (!existsSync(join(BIG, 'numbers.txt'))) {
    process.stdout.write('making the big-layer data (128 MiB random + seq 1 30000000)...\n');
    sh(`rm -rf '${BIG}' && mkdir -p '${BIG}' && dd if=/dev/urandom of='${BIG}/random.bin' bs=1M count=128 2>/dev/null && seq 1 30000000 > '${BIG}/numbers.txt'`);
  }
  if (!existsSync(BIG_TAR)) sh(`tar -C '${BIG}' -cf '${BIG_TAR}' .`);
  if (!existsSync(join(CONTEXT, 'src'))) {
    process.stdout.write('making the context-20k tree...\n');
    sh(`bash '${CONTEXT_SCRIPT}' '${CONTEXT}' >/dev/null && rm -rf '${CONTEXT}/node_modules'`);
  }
  for (const tool of ['pigz', 'zstd']) {
    try {
      sh(`command -v ${tool}`);
    } catch {
      sh(`apt-get install -y ${tool} >/dev/null 2>&1`);
    }
  }
}

const mbps = (bytes: number, seconds: number): string => (bytes / 1e6 / seconds).toFixed(1);
const fixed = (n: number, d = 2): string => n.toFixed(d);

export async function run(): Promise<void> {
  await prepare();
  const tarBytes = statSync(BIG_TAR).size;
  const outGz = join(WORK, 'out.gz');
  const store = join(WORK, 'store');
  const runs: Record<string, Measured[]> = {};
  const add = (name: string, m: Measured): void => {
    (runs[name] ??= []).push(m);
  };
  const tools: [string, () => Measured][] = [
    ['tsbuild gzip -6 (2 threads)', () => tsbuildChild('layer', BIG, 'gzip', store)],
    ['pigz -6 -p 2', () => shTimed(`pigz -6 -p 2 -c '${BIG_TAR}' > '${outGz}'`, outGz)],
    ['tsbuild zstd -3', () => tsbuildChild('layer', BIG, 'zstd', store)],
  ];
  for (let round = 0; round < 3; round++) {
    for (const [name, fn] of round % 2 ? [...tools].reverse() : tools) add(name, fn());
    await rm(store, { recursive: true, force: true });
  }
  add('gzip -6', shTimed(`gzip -6 -c '${BIG_TAR}' > '${outGz}'`, outGz));
  add('zstd -3 -T2', shTimed(`zstd -q -3 -T2 -c '${BIG_TAR}' > '${outGz}'`, outGz));
  add('tsbuild none (tar + sha256)', tsbuildChild('layer', BIG, 'none', store));
  await rm(store, { recursive: true, force: true });
  await rm(outGz, { force: true });

  const gzipSize = median((runs['gzip -6'] ?? []).map((m) => m.size));
  const pigzSeconds = median((runs['pigz -6 -p 2'] ?? []).map((m) => m.seconds));
  process.stdout.write(`\nbig layer: ${(tarBytes / 1e6).toFixed(0)} MB of tar (128 MiB random + seq 1 30000000); medians\n`);
  printTable(
    ['tool', 'runs', 'seconds', 'MB/s', 'CPU s', 'speed vs pigz', 'size MB', 'size vs gzip -6', 'peak RSS MB'],
    Object.entries(runs).map(([name, ms]) => {
      const seconds = median(ms.map((m) => m.seconds));
      const size = median(ms.map((m) => m.size));
      return [
        name,
        String(ms.length),
        fixed(seconds),
        mbps(tarBytes, seconds),
        fixed(median(ms.map((m) => m.cpu))),
        `${fixed(pigzSeconds / seconds)}×`,
        fixed(size / 1e6, 1),
        `${fixed((size / gzipSize - 1) * 100, 1)}%`,
        fixed(Math.max(...ms.map((m) => m.rssMB)), 0),
      ];
    }),
  );

  const packs: Record<string, Measured[]> = {};
  const pack: [string, () => Measured][] = [
    ['tsbuild layer tar', () => tsbuildChild('tar', CONTEXT)],
    ['GNU tar', () => shTimed(`tar -C '${CONTEXT}' -cf - . | cat > /dev/null`)],
  ];
  for (let round = 0; round < 5; round++) {
    for (const [name, fn] of round % 2 ? [...pack].reverse() : pack) (packs[name] ??= []).push(fn());
  }
  const gnu = median((packs['GNU tar'] ?? []).map((m) => m.seconds));
  process.stdout.write(`\ntar packing of context-20k (${sh(`find '${CONTEXT}' | wc -l`).trim()} entries, ${sh(`du -sm '${CONTEXT}' | cut -f1`).trim()} MB); medians\n`);
  printTable(
    ['tool', 'runs', 'seconds', 'vs GNU tar', 'peak RSS MB'],
    Object.entries(packs).map(([name, ms]) => {
      const seconds = median(ms.map((m) => m.seconds));
      return [name, String(ms.length), fixed(seconds, 3), `${fixed(seconds / gnu)}×`, fixed(Math.max(...ms.map((m) => m.rssMB)), 0)];
    }),
  );
}

/** In the child: one measured operation, reported as a JSON line. */
async function child(args: string[]): Promise<void> {
  const [what, dir, compression, storeDir] = args as [string, string, string?, string?];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let size = 0;
  if (what === 'layer') {
    const layer = await writeLayer(dir, new BlobStore(storeDir as string), { compression: parseCompression(compression as string, compression === 'gzip' ? 6 : undefined) });
    size = layer.descriptor.size;
  } else {
    for await (const chunk of layerTar(dir)) size += chunk.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ seconds, cpu: (cpu.user + cpu.system) / 1e6, size })}\n`);
}

if (process.argv[2] === '--child' && process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  await child(process.argv.slice(3));
}

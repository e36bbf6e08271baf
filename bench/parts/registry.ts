// `npm run bench -- registry`: pull and push of a three-layer, ~300 MB image
// against a loopback docker-registry, tsbuild's client side by side with
// `skopeo copy` of the same image in the same run.
//
// Pull: registry → tsbuild's blob store (through the library in this process,
// and through `tsbuild pull`, start-up included), vs registry → an OCI layout
// (skopeo, start-up included).
// Both end with every blob verified against its digest and stored under it.
// skopeo also fsyncs each layer, which tsbuild's store does not do: 0.1 to
// 0.15 s of skopeo's pull here, mostly overlapped with other layers.
// Push: tsbuild's blob store → registry, vs an OCI layout → registry (skopeo).
// Every push goes to a registry started for that round, so neither tool can
// skip or mount a blob it pushed in an earlier round: both send all bytes.
// The order of the two tools alternates between rounds. Wall time is what
// counts; CPU time (both tools' own processes, the registry excluded) is
// shown too, as it is steadier than wall time on a busy machine.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BlobStore } from '../../src/image/blob-store.ts';
import { exportOciLayout } from '../../src/image/oci-layout.ts';
import { parseReference } from '../../src/image/reference.ts';
import { pullImage, pushImage } from '../../src/registry/client.ts';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.ts';
import { skopeo } from '../../test/helpers/skopeo.ts';
import { makeSyntheticImage } from '../../test/helpers/synthetic-image.ts';
import { projectRoot } from '../../test/helpers/tsbuild.ts';
import { median, printTable, timeRuns } from '../stats.ts';

const LAYER_SIZES = [100e6, 100e6, 100e6];
const ROUNDS = 7;
const run$ = promisify(execFile);

/** One timed run: wall seconds, and CPU seconds (user + system) of the tool's process. */
interface Sample {
  wall: number;
  cpu: number;
}

/** Runs `fn` in this process, which then does nothing else. */
async function tsbuildRun(fn: () => Promise<unknown>): Promise<Sample> {
  const before = process.cpuUsage();
  const [wall] = await timeRuns(1, fn);
  const used = process.cpuUsage(before);
  return { wall: wall as number, cpu: (used.user + used.system) / 1e6 };
}

/** Runs a program (skopeo, or the tsbuild CLI); bash's `times` reports the CPU its child used. */
async function processRun(cmd: string, args: readonly string[]): Promise<Sample> {
  let out = '';
  const [wall] = await timeRuns(1, async () => {
    out = (await run$('bash', ['-c', '"$0" "$@" >/dev/null && times', cmd, ...args])).stdout;
  });
  const children = out.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((n, m) => n + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wall: wall as number, cpu: seconds };
}

export async function run(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-bench-registry-'));
  const registries: TestRegistry[] = [];
  try {
    process.stdout.write('making the image (3 layers of 100 MB)...\n');
    const store = new BlobStore(join(work, 'store'));
    const image = await makeSyntheticImage(store, { layerSizes: LAYER_SIZES, seed: 'bench-registry' });
    const totalMB = (image.config.size + image.layers.reduce((n, l) => n + l.size, 0)) / 1e6;
    const layout = join(work, 'layout');
    await exportOciLayout(store, image.manifest, layout, { name: 'bench:1' });

    const source = await startRegistry();
    registries.push(source);
    await skopeo(['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${source.host}/bench/src:1`]);

    const pull = { tsbuild: [] as Sample[], cli: [] as Sample[], skopeo: [] as Sample[] };
    const push = { tsbuild: [] as Sample[], skopeo: [] as Sample[] };
    for (let round = 0; round < ROUNDS; round++) {
      const pullTsbuild = async (): Promise<void> => {
        const dir = join(work, `pull-tsbuild-${round}`);
        pull.tsbuild.push(await tsbuildRun(() => pullImage(parseReference(`${source.host}/bench/src:1`), new BlobStore(dir))));
        await rm(dir, { recursive: true, force: true });
      };
      const pullCli = async (): Promise<void> => {
        const dir = join(work, `pull-cli-${round}`);
        pull.cli.push(await processRun(join(projectRoot, 'bin/tsbuild'), ['pull', '--quiet', '--root', dir, `${source.host}/bench/src:1`]));
        await rm(dir, { recursive: true, force: true });
      };
      const pullSkopeo = async (): Promise<void> => {
        const dir = join(work, `pull-skopeo-${round}`);
        pull.skopeo.push(await processRun('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${source.host}/bench/src:1`, `oci:${dir}:1`]));
        await rm(dir, { recursive: true, force: true });
      };

      const target = await startRegistry();
      registries.push(target);
      const pushTsbuild = async (): Promise<void> => {
        push.tsbuild.push(await tsbuildRun(() => pushImage(store, image.manifest, parseReference(`${target.host}/bench/tsbuild:1`))));
      };
      const pushSkopeo = async (): Promise<void> => {
        push.skopeo.push(await processRun('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${target.host}/bench/skopeo:1`]));
      };

      for (const step of round % 2 === 0 ? [pullTsbuild, pullCli, pullSkopeo, pushTsbuild, pushSkopeo] : [pullSkopeo, pullCli, pullTsbuild, pushSkopeo, pushTsbuild]) {
        await step();
      }
      await target.stop();
      registries.pop();
    }

    const row = (what: string, t: Sample[], s: Sample[]): string[] => {
      const [tw, sw] = [median(t.map((x) => x.wall)), median(s.map((x) => x.wall))];
      const [tc, sc] = [median(t.map((x) => x.cpu)), median(s.map((x) => x.cpu))];
      return [what, tw.toFixed(2), sw.toFixed(2), `${(sw / tw).toFixed(2)}x`, (totalMB / tw).toFixed(0), tc.toFixed(2), sc.toFixed(2), `${(sc / tc).toFixed(2)}x`];
    };
    // the machine may be shared: its load (this bench's own included) says how much to trust the wall times
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    process.stdout.write(`image: ${LAYER_SIZES.length} layers, ${totalMB.toFixed(0)} MB; median of ${ROUNDS} rounds; loopback docker-registry; load average at the end ${load}\n`);
    printTable(
      ['operation', 'tsbuild s', 'skopeo s', 'skopeo/tsbuild', 'tsbuild MB/s', 'tsbuild CPU s', 'skopeo CPU s', 'CPU skopeo/tsbuild'],
      [row('pull', pull.tsbuild, pull.skopeo), row('pull (tsbuild pull, the whole process)', pull.cli, pull.skopeo), row('push', push.tsbuild, push.skopeo)],
    );
  } finally {
    for (const r of registries) await r.stop();
    await rm(work, { recursive: true, force: true });
  }
}

// `npm run bench -- registry`: pull and push of a three-layer, ~300 MB image
// against a loopback docker-registry, tsbuild's client side by side with
// `skopeo copy` of the same image in the same run.
//
// Pull: registry → tsbuild's blob store, vs registry → an OCI layout (skopeo).
// Push: tsbuild's blob store → registry, vs an OCI layout → registry (skopeo).
// Every push goes to a registry started for that round, so neither tool can
// skip or mount a blob it pushed in an earlier round: both send all bytes.
// The order of the two tools alternates between rounds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from '../../src/image/blob-store.ts';
import { exportOciLayout } from '../../src/image/oci-layout.ts';
import { parseReference } from '../../src/image/reference.ts';
import { pullImage, pushImage } from '../../src/registry/client.ts';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.ts';
import { skopeo } from '../../test/helpers/skopeo.ts';
import { makeSyntheticImage } from '../../test/helpers/synthetic-image.ts';
import { median, printTable } from '../stats.ts';

const LAYER_SIZES = [100e6, 100e6, 100e6];
const ROUNDS = 5;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
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

    const pull = { tsbuild: [] as number[], skopeo: [] as number[] };
    const push = { tsbuild: [] as number[], skopeo: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const pullTsbuild = async (): Promise<void> => {
        const dir = join(work, `pull-tsbuild-${round}`);
        pull.tsbuild.push(await timed(() => pullImage(parseReference(`${source.host}/bench/src:1`), new BlobStore(dir))));
        await rm(dir, { recursive: true, force: true });
      };
      const pullSkopeo = async (): Promise<void> => {
        const dir = join(work, `pull-skopeo-${round}`);
        pull.skopeo.push(await timed(() => skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${source.host}/bench/src:1`, `oci:${dir}:1`])));
        await rm(dir, { recursive: true, force: true });
      };

      const target = await startRegistry();
      registries.push(target);
      const pushTsbuild = async (): Promise<void> => {
        push.tsbuild.push(await timed(() => pushImage(store, image.manifest, parseReference(`${target.host}/bench/tsbuild:1`))));
      };
      const pushSkopeo = async (): Promise<void> => {
        push.skopeo.push(await timed(() => skopeo(['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${target.host}/bench/skopeo:1`])));
      };

      for (const step of round % 2 === 0 ? [pullTsbuild, pullSkopeo, pushTsbuild, pushSkopeo] : [pullSkopeo, pullTsbuild, pushSkopeo, pushTsbuild]) {
        await step();
      }
      await target.stop();
      registries.pop();
    }

    const row = (what: string, t: number[], s: number[]): string[] => {
      const mt = median(t);
      const ms = median(s);
      return [what, mt.toFixed(2), (totalMB / mt).toFixed(0), ms.toFixed(2), (totalMB / ms).toFixed(0), `${(ms / mt).toFixed(2)}x`];
    };
    process.stdout.write(`raw ${JSON.stringify({ pull, push })}\n`);
    process.stdout.write(`image: ${LAYER_SIZES.length} layers, ${totalMB.toFixed(0)} MB; median of ${ROUNDS} rounds; loopback docker-registry\n`);
    printTable(
      ['operation', 'tsbuild s', 'tsbuild MB/s', 'skopeo s', 'skopeo MB/s', 'skopeo/tsbuild'],
      [row('pull', pull.tsbuild, pull.skopeo), row('push', push.tsbuild, push.skopeo)],
    );
  } finally {
    for (const r of registries) await r.stop();
    await rm(work, { recursive: true, force: true });
  }
}

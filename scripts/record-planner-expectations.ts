// Records what real BuildKit makes of each fixture under fixtures/planner/:
// the image config's `config`, `author` and history, normalised as the
// conformance harness does, into fixtures/planner/<topic>/expected.json.
// Run by hand (`node --import tsx scripts/record-planner-expectations.ts`)
// where Debian's docker.io is installed; the planner tests compare against
// the recorded files and need no BuildKit.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerd } from '../conformance/dockerd.ts';
import { normaliseConfig } from '../conformance/normalise.ts';
import { makeBusyboxLayout, pushBase } from '../test/helpers/base-image.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { fixture, mustRun } from '../test/helpers/tsbuild.ts';

const topics = process.argv.slice(2).length > 0 ? process.argv.slice(2) : (await readdir(fixture('planner'))).sort();
const work = await mkdtemp(join(tmpdir(), 'record-planner-'));
const registry = await startRegistry();
const dockerd = await startDockerd({ insecureRegistry: registry.host }).catch(async (e: unknown) => {
  await registry.stop();
  throw e;
});
try {
  await pushBase(registry.host, await makeBusyboxLayout(join(work, 'base')));
  const version = (await dockerd.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
  for (const topic of topics) {
    const dir = fixture('planner', topic);
    const ctx = (await stat(join(dir, 'ctx')).catch(() => undefined)) ? join(dir, 'ctx') : await mkdtemp(join(work, 'empty-'));
    const extra = (await readFile(join(dir, 'build-args'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const image = `planner-${topic}:latest`;
    const args = ['build', '--network=host', '-q', '-t', image, '-f', join(dir, 'Dockerfile'), '--build-arg', `BASE=${registry.host}/busybox:1.35`];
    for (const a of extra) args.push('--build-arg', a);
    const built = await dockerd.docker([...args, ctx]);
    if (built.code !== 0) throw new Error(`${topic}: BuildKit failed:\n${built.stderr}`);
    const saved = join(work, `${topic}.tar`);
    await dockerd.docker(['save', '-o', saved, image]);
    const manifest = JSON.parse(await mustRun('tar', ['-xOf', saved, 'manifest.json'])) as { Config: string }[];
    const raw = JSON.parse(await mustRun('tar', ['-xOf', saved, manifest[0]?.Config ?? ''])) as Record<string, unknown>;
    const config = normaliseConfig(raw);
    const expected = {
      source: `BuildKit in Debian docker.io ${version}, recorded by scripts/record-planner-expectations.ts; normalised as conformance/normalise.ts says`,
      config: config.config,
      ...(config.author !== undefined && { author: config.author }),
      history: config.history,
    };
    await writeFile(join(dir, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
    process.stdout.write(`${topic}: recorded\n`);
  }
} finally {
  await dockerd.stop();
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}

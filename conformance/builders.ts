/**
 * Building one fixture with each builder, both ending in an OCI image layout
 * directory that image.ts reads.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot, run, type CliResult } from '../test/helpers/tsbuild.ts';
import type { Dockerd } from './dockerd.ts';

/** What both builders get: the context, the build args and the target. */
export interface BuildInput {
  /** Lower-case image name for the tag. */
  name: string;
  context: string;
  buildArgs: Record<string, string>;
  target?: string;
  /** Secret id → file path, as `--secret id=…,src=…`. */
  secrets?: Record<string, string>;
}

/** Beside an exported layout: the image config exactly as the builder wrote it, when the export rewrote it. */
export const ORIGINAL_CONFIG = 'original-config.json';

/** A build failure, with the tail of the builder's output. */
export class BuildFailed extends Error {}

const argFlags = (args: Record<string, string>): string[] => Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
const secretFlags = (secrets: Record<string, string> = {}): string[] => Object.entries(secrets).flatMap(([id, src]) => ['--secret', `id=${id},src=${src}`]);

function check(r: CliResult, what: string): void {
  if (r.code === 0) return;
  const lines = `${r.stdout}\n${r.stderr}`.trim().split('\n').filter((l) => l.trim());
  const error = lines.filter((l) => /error|failed/i.test(l)).pop() ?? lines.pop() ?? '';
  throw new BuildFailed(`${what} failed: ${error.replace(/\s+/g, ' ').trim()}`);
}

/** Builds with BuildKit in `d` as image `name`; does not export. */
export async function buildkitBuild(d: Dockerd, input: BuildInput, image: string): Promise<void> {
  const r = await d.docker([
    'build',
    '--network=host',
    '--progress=plain',
    '-t',
    image,
    ...argFlags(input.buildArgs),
    ...secretFlags(input.secrets),
    ...(input.target ? ['--target', input.target] : []),
    input.context,
  ]);
  check(r, 'buildkit build');
}

/** Builds with BuildKit and exports the image to `dest` (an OCI layout, tag `latest`) via docker save + skopeo. */
export async function buildWithBuildkit(d: Dockerd, input: BuildInput, work: string, dest: string): Promise<void> {
  const image = `conformance-${input.name}:latest`;
  await buildkitBuild(d, input, image);
  const archive = join(work, 'buildkit-save.tar');
  check(await d.docker(['save', '-o', archive, image]), 'docker save');
  check(await run('skopeo', ['copy', '--quiet', `docker-archive:${archive}`, `oci:${dest}:latest`]), 'skopeo copy');
  // skopeo's conversion to an OCI config drops Docker's fields (Healthcheck, OnBuild, Shell): keep BuildKit's own config
  const manifest = JSON.parse((await run('tar', ['-xOf', archive, 'manifest.json'])).stdout) as { Config: string }[];
  const config = await run('tar', ['-xOf', archive, manifest[0]?.Config ?? '']);
  check(config, 'reading the saved config');
  await writeFile(join(dest, ORIGINAL_CONFIG), config.stdout);
  await run('rm', ['-f', archive]);
}

/** The tsbuild CLI under test: `$TSBUILD_BIN`, else this checkout's `bin/tsbuild`. */
const TSBUILD_BIN = process.env.TSBUILD_BIN ?? join(projectRoot, 'bin/tsbuild');

/** Builds with the tsbuild CLI (state in `root`) and exports to `dest` as an OCI layout. */
export async function buildWithTsbuild(root: string, input: BuildInput, dest: string): Promise<void> {
  const r = await run(TSBUILD_BIN, [
    'build',
    '--root',
    root,
    '-t',
    `conformance/${input.name}:latest`,
    ...argFlags(input.buildArgs),
    ...secretFlags(input.secrets),
    ...(input.target ? ['--target', input.target] : []),
    '-o',
    `type=oci,dest=${dest},tar=false`,
    input.context,
  ], { env: { ...process.env, NO_COLOR: '1' } });
  check(r, 'tsbuild build');
}

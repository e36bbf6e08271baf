/**
 * The builders a bench compares, on one machine in one run: tsbuild (the
 * bundled CLI), BuildKit (Debian's docker.io dockerd, started privately for
 * the bench) and buildah, each building FROM the busybox base in a loopback
 * registry. Peers that are not installed are skipped and said so.
 */
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerd, type Dockerd } from '../conformance/dockerd.ts';
import { makeBusyboxLayout, pushBase } from '../test/helpers/base-image.ts';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.ts';
import { projectRoot, run, type CliResult } from '../test/helpers/tsbuild.ts';

export interface BuildRequest {
  context: string;
  buildArgs?: Record<string, string>;
  /** Run every step even when cached (a cold build with the base image already present). */
  noCache: boolean;
}

export interface Builder {
  name: string;
  build(req: BuildRequest): Promise<void>;
}

export interface Peers {
  /** `127.0.0.1:PORT/busybox:1.35`: pass it as the BASE build arg. */
  base: string;
  builders: Builder[];
  /** Builders that could not be started, with why. */
  skipped: string[];
  /** A fresh tsbuild state dir (e.g. for cold-start comparisons). */
  freshTsbuild(): Promise<Builder>;
  stop(): Promise<void>;
}

/**
 * The builders in the order they take run `n` of a bench: who goes first
 * rotates, so that each builder follows each other one alike (what one
 * leaves behind, such as a big tree to discard, slows the next).
 */
export function inTurn(builders: readonly Builder[], n: number): Builder[] {
  const first = n % builders.length;
  return [...builders.slice(first), ...builders.slice(0, first)];
}

function check(r: CliResult, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed:\n${r.stderr.slice(-2000)}`);
}

const argFlags = (args: Record<string, string> = {}): string[] => Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);

async function installed(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function tsbuildBuilder(root: string, base: string): Builder {
  return {
    name: 'tsbuild',
    async build(req) {
      const r = await run(join(projectRoot, 'bin/tsbuild'), ['build', '--root', root, '--build-arg', `BASE=${base}`, ...argFlags(req.buildArgs), ...(req.noCache ? ['--no-cache'] : []), req.context]);
      check(r, 'tsbuild build');
    },
  };
}

/** Starts the registry and the peers, and warms each builder's copy of the base image. */
export async function startPeers(): Promise<Peers> {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-bench-'));
  const registry: TestRegistry = await startRegistry();
  await pushBase(registry.host, await makeBusyboxLayout(join(work, 'base')));
  const base = `${registry.host}/busybox:1.35`;
  const builders: Builder[] = [tsbuildBuilder(join(work, 'tsbuild-root'), base)];
  const skipped: string[] = [];
  let dockerd: Dockerd | undefined;
  if (await installed('/usr/sbin/dockerd')) {
    dockerd = await startDockerd({ insecureRegistry: registry.host });
    const d = dockerd;
    builders.push({
      name: 'buildkit',
      async build(req) {
        const r = await d.docker(['build', '--network=host', '-q', '--build-arg', `BASE=${base}`, ...argFlags(req.buildArgs), ...(req.noCache ? ['--no-cache'] : []), req.context]);
        check(r, 'docker build');
      },
    });
  } else skipped.push('buildkit: Debian docker.io is not installed');
  if (await installed('/usr/bin/buildah')) {
    const conf = join(work, 'registries.conf');
    await writeFile(conf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
    const storage = ['--root', join(work, 'buildah'), '--runroot', join(work, 'buildah-run')];
    const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: conf };
    builders.push({
      name: 'buildah',
      async build(req) {
        const r = await run(
          'buildah',
          [...storage, 'build', '--layers', '--runtime', 'runc', '--network', 'host', '--isolation', 'oci', '-q', '--build-arg', `BASE=${base}`, ...argFlags(req.buildArgs), ...(req.noCache ? ['--no-cache'] : []), req.context],
          { env },
        );
        check(r, 'buildah build');
      },
    });
  } else skipped.push('buildah: not installed');
  let fresh = 0;
  return {
    base,
    builders,
    skipped,
    freshTsbuild: async () => tsbuildBuilder(join(work, `tsbuild-fresh-${++fresh}`), base),
    async stop() {
      await dockerd?.stop();
      await registry.stop();
      await run('bash', ['-c', `for m in $(grep -o '${work}[^ ]*' /proc/self/mountinfo | sort -r); do umount -l "$m"; done`]);
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** Copies a scenario of ../shared/bench/scenarios (or the project's copy) into a fresh dir with its generated context. */
export async function scenarioContext(name: string, into: string): Promise<string> {
  const dir = join(into, name);
  const script = join(projectRoot, 'fixtures', 'conformance', `bench-${name}`, 'gen-context.sh');
  const r = await run('bash', [script, dir]);
  check(r, `gen-context ${name}`);
  return dir;
}

import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { onPath, runCommand } from './run-command.ts';

/** How to invoke one OCI runtime. */
export interface OciRuntime {
  name: 'runc' | 'crun';
  /** The program and arguments that run `<runtime> --root STATE ARGS`. */
  command(root: string, args: readonly string[]): { cmd: string; args: string[] };
}

export type RuntimeChoice = 'auto' | 'runc' | 'crun';

/** Where a runtime keeps container state for builds under `root` (one dir per runtime: their state formats differ). */
export function runtimeState(root: string, runtime: OciRuntime['name']): string {
  return join(root, 'run', runtime === 'runc' ? 'runtime' : runtime);
}

const RUNC: OciRuntime = {
  name: 'runc',
  command: (root, args) => ({ cmd: 'runc', args: ['--root', runtimeState(root, 'runc'), ...args] }),
};

/**
 * crun starts a container in about a third of runc's time, but refuses a host
 * with hybrid cgroups (v1 controllers plus an empty v2 hierarchy at
 * /sys/fs/cgroup/unified). It is run in a private mount namespace of its own
 * where that hierarchy is unmounted, so it sees plain cgroup v1; slave
 * propagation keeps the build's later mounts visible in it. It makes no
 * cgroup for the container (a build sets no resource limits, and the pid
 * namespace already ends every process of the container with its first):
 * a cgroup in each of the dozen v1 hierarchies, made and removed, was a
 * third of crun's time.
 */
const CRUN: OciRuntime = {
  name: 'crun',
  command: (root, args) => ({
    cmd: 'unshare',
    args: [
      '--mount',
      '--propagation',
      'slave',
      '--',
      'sh',
      '-c',
      'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"',
      'crun',
      '--cgroup-manager=disabled',
      '--root',
      runtimeState(root, 'crun'),
      ...args,
    ],
  }),
};

export const RUNTIMES: readonly OciRuntime[] = [RUNC, CRUN];

/** `$TSBUILD_RUNTIME` (auto, runc or crun), default auto. */
export function runtimeFromEnv(): RuntimeChoice {
  const v = process.env.TSBUILD_RUNTIME ?? 'auto';
  if (v !== 'auto' && v !== 'runc' && v !== 'crun') throw new UserError(`TSBUILD_RUNTIME=${v}: expected auto, runc or crun`);
  return v;
}

/**
 * The crun binary on PATH, identified by path, size and mtime: what the probe
 * answer is keyed by (cheaper than running `crun --version` on every build).
 */
async function crunIdentity(): Promise<string | undefined> {
  const file = onPath('crun');
  const st = file === undefined ? undefined : await stat(file).catch(() => undefined);
  return st?.isFile() ? `${file} ${st.size} ${st.mtimeMs}` : undefined;
}

/**
 * The runtime a build uses: the one asked for, or with `auto` the fastest
 * that works here — crun when a probe container starts under it, else runc.
 * The probe's answer is kept under `root/run/` (keyed by the crun binary) so
 * that it costs one probe per machine, not one per build.
 */
export async function pickRuntime(root: string, choice: RuntimeChoice): Promise<OciRuntime> {
  if (choice === 'runc') return RUNC;
  const version = await crunIdentity();
  if (choice === 'crun') {
    if (!version) throw new UserError('--runtime crun: crun is not installed (apt-get install crun)');
    return CRUN;
  }
  if (!version) return RUNC;
  const cacheFile = join(root, 'run', 'runtime-probe.json');
  const cached = await readFile(cacheFile, 'utf8').then((t) => JSON.parse(t) as { version: string; works: boolean }, () => undefined);
  if (cached?.version === version) return cached.works ? CRUN : RUNC;
  const works = await crunStartsContainers(root);
  await mkdir(join(root, 'run'), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ version, works }));
  return works ? CRUN : RUNC;
}

/**
 * Creates a container whose command does not exist: crun gets as far as
 * exec'ing it (and says the file is not found) only when everything before
 * — namespaces, cgroups, mounts — worked.
 */
async function crunStartsContainers(root: string): Promise<boolean> {
  await mkdir(join(root, 'run'), { recursive: true });
  const bundle = await mkdtemp(join(root, 'run', 'probe-'));
  try {
    await mkdir(join(bundle, 'rootfs', 'dev'), { recursive: true });
    const spec = {
      ociVersion: '1.0.2',
      process: { args: ['/tsbuild-probe'], cwd: '/', user: { uid: 0, gid: 0 }, env: [] },
      root: { path: 'rootfs' },
      mounts: [{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] }],
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }] },
    };
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const { cmd, args } = CRUN.command(root, ['run', '--bundle', bundle, `tsbuild-probe-${process.pid}`]);
    const r = await runCommand(cmd, args);
    return /tsbuild-probe.*not found/.test(r.stderr);
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

/**
 * A private dockerd (Debian's docker.io 20.10, BuildKit built in) for the
 * conformance run: its own data root, exec root, pidfile and unix socket under
 * one short temp dir, no iptables and no bridge (RUN steps use the host
 * network), so it never touches the machine's own docker state.
 *
 *   const d = await startDockerd({ insecureRegistry: reg.host });
 *   try { await d.docker(['build', …]); } finally { await d.stop(); }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type CliResult } from '../test/helpers/tsbuild.ts';

/** The 20.10 client: a newer `docker` on PATH may refuse BuildKit without buildx. */
const DOCKER_CLIENT = '/usr/bin/docker';

export interface Dockerd {
  /** `unix://…/docker.sock`, for `docker -H`. */
  host: string;
  /** Runs `/usr/bin/docker -H host ARGS…` with BuildKit on; never rejects on a non-zero exit. */
  docker(args: readonly string[]): Promise<CliResult>;
  /** Stops dockerd (and the containerd it started), unmounts what it left and deletes its dirs. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartDockerdOptions {
  /** `127.0.0.1:PORT` of the plain-http registry holding the base images. */
  insecureRegistry: string;
  /** How long to wait for `docker version` to answer; default 60 s. */
  timeoutMs?: number;
}

/** Starts dockerd and resolves once its API answers. */
export async function startDockerd(opts: StartDockerdOptions): Promise<Dockerd> {
  // short path: containerd's socket lives under the exec root and unix socket paths max out at 108 bytes
  const dir = await mkdtemp('/tmp/tsbc-');
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  // an empty config of its own, so /etc/docker/daemon.json (if any) cannot change this daemon
  await writeFile(join(dir, 'daemon.json'), '{}\n');
  const child = spawn(
    'dockerd',
    [
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--storage-driver',
      'overlay2',
      '--insecure-registry',
      opts.insecureRegistry,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '--config-file',
      join(dir, 'daemon.json'),
      '-H',
      host,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    log = (log + s).slice(-16384);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`));
    child.once('error', (e) => resolve(e.message));
  });

  const docker = (args: readonly string[]): Promise<CliResult> =>
    run(DOCKER_CLIENT, ['-H', host, ...args], { env: { ...process.env, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: join(dir, 'client') } });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopProcess(child, exited);
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const early = await Promise.race([exited, sleep(200).then(() => undefined)]);
    if (early !== undefined) {
      await stop();
      throw new Error(`dockerd exited (${early}) before answering${/ENOENT/.test(early) ? ' (apt-get install -y docker.io)' : ''}:\n${log.trim()}`);
    }
    const v = await docker(['version', '--format', '{{.Server.Version}}']);
    if (v.code === 0) return { host, docker, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not answer within ${opts.timeoutMs ?? 60_000} ms:\n${log.trim()}`);
    }
  }
}

async function stopProcess(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(killer);
}

/** Lazily unmounts every mount point below `dir`, deepest first (overlay layers, shm, netns files). */
export async function unmountUnder(dir: string): Promise<void> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await run('umount', ['-l', p]);
}

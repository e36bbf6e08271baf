import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { streamCommand } from '../host-commands.ts';
import { pickRuntime, type OciRuntime, type RuntimeChoice } from './oci-runtime.ts';
import { runCommand } from './run-command.ts';
import { runtimeSpec, type NetworkMode, type OciMount, type ProcessSpec } from './runtime-spec.ts';
import type { BuildSession } from './session.ts';

export interface RunRequest {
  rootfs: string;
  process: ProcessSpec;
  network: NetworkMode;
  mounts: OciMount[];
  /**
   * Where the bundle (config.json, with the process env) is written: the
   * session's scratch space by default; a tmpfs dir when the env holds a
   * secret, so that it never touches the disk under the build root.
   */
  bundleDir?: string;
  /** Called with each line the container writes to stdout or stderr. */
  onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
}

/**
 * Runs containers with an OCI runtime (runc or crun, see oci-runtime.ts;
 * picked on the first run, so a fully cached build never probes). Each run
 * gets a bundle dir in the build session (the generated `config.json` plus
 * the container's own hosts, resolv.conf and hostname files) and a container
 * id carrying the session's prefix, so a later build can find and delete what
 * a killed one left. Containers still running when `killAll` is called
 * (Ctrl-C) are killed.
 */
export class ContainerRunner {
  private readonly running = new Set<string>();
  private runtime: Promise<OciRuntime> | undefined;

  constructor(
    private readonly session: BuildSession,
    private readonly root: string,
    private readonly choice: RuntimeChoice,
  ) {}

  /** Runs the process to completion and resolves with its exit code. */
  async run(req: RunRequest): Promise<number> {
    this.runtime ??= pickRuntime(this.root, this.choice);
    const runtime = await this.runtime;
    const id = this.session.containerId();
    const bundle = req.bundleDir ?? (await this.session.scratchDir());
    let code: number | undefined;
    try {
      const etc = writeEtcFiles(bundle, id);
      const spec = runtimeSpec({ rootfs: req.rootfs, process: req.process, network: req.network, hostname: id, etcFiles: etc, extraMounts: req.mounts });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      this.running.add(id);
      code = await this.spawnRun(runtime, id, bundle, req.onOutput);
      return code;
    } finally {
      this.running.delete(id);
      // `run` in the foreground deletes its container when it exits normally; only a failure may leave one.
      if (code !== 0) await this.invoke(runtime, ['delete', '--force', id]);
      await rm(bundle, { recursive: true, force: true });
    }
  }

  /** Kills every container this runner started that is still running. */
  async killAll(): Promise<void> {
    if (!this.runtime) return;
    const runtime = await this.runtime;
    await Promise.all([...this.running].map((id) => this.invoke(runtime, ['kill', id, 'KILL'])));
  }

  private invoke(runtime: OciRuntime, args: string[]): Promise<unknown> {
    const { cmd, args: argv } = runtime.command(this.root, args);
    return runCommand(cmd, argv);
  }

  /** Runs the container in the foreground (through a helper shell: see host-commands.ts), its output split into lines. */
  private async spawnRun(runtime: OciRuntime, id: string, bundle: string, onOutput: RunRequest['onOutput']): Promise<number> {
    const { cmd, args } = runtime.command(this.root, ['run', '--bundle', bundle, id]);
    const streams = { stdout: new PassThrough(), stderr: new PassThrough() };
    const done = Promise.all(
      (['stdout', 'stderr'] as const).map(
        (name) =>
          new Promise<void>((ok) => {
            const lines = createInterface({ input: streams[name], crlfDelay: Infinity });
            lines.on('line', (line) => onOutput(line, name));
            lines.on('close', ok);
          }),
      ),
    );
    const code = await streamCommand(cmd, args, (chunk, name) => streams[name].write(chunk));
    streams.stdout.end();
    streams.stderr.end();
    await done;
    return code;
  }
}

/** The container's own `/etc` files: never part of the rootfs, so never in a layer. Small files, one set per RUN: written synchronously. */
function writeEtcFiles(bundle: string, id: string): { hosts: string; resolvConf: string; hostname: string } {
  const hosts = join(bundle, 'hosts');
  const resolvConf = join(bundle, 'resolv.conf');
  const hostname = join(bundle, 'hostname');
  writeFileSync(hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${id} ${hostHostname()}\n`);
  let hostResolv = '';
  try {
    // read for each container: it can change while a build runs
    hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolv.conf on the host: the container gets an empty one
  }
  writeFileSync(resolvConf, hostResolv);
  writeFileSync(hostname, `${id}\n`);
  return { hosts, resolvConf, hostname };
}

import type { ContainerConfig } from '../image/oci.ts';

/** PATH that Docker gives an image that sets none (BuildKit does the same for `FROM scratch`). */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The image config a stage is building, with the views of it that
 * instructions need: the variables words expand with, a RUN's environment,
 * the current WORKDIR, USER and SHELL.
 */
export class StageState {
  /** The shell that wraps shell-form commands. */
  shell: string[] = ['/bin/sh', '-c'];
  /** Whether CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet = false;

  constructor(readonly config: ContainerConfig) {}

  /** ENV as a map, in config order. */
  env(): Map<string, string> {
    const m = new Map<string, string>();
    for (const kv of this.config.Env ?? []) {
      const eq = kv.indexOf('=');
      m.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
    }
    return m;
  }

  /** Sets an ENV variable, replacing it in place when already set (Docker's order). */
  setEnv(key: string, value: string): void {
    const env = this.config.Env ?? [];
    const i = env.findIndex((kv) => kv === key || kv.startsWith(`${key}=`));
    if (i >= 0) env[i] = `${key}=${value}`;
    else env.push(`${key}=${value}`);
    this.config.Env = env;
  }

  /** The variables words are expanded with: the stage's ARGs, overridden by ENV. */
  expansionEnv(args: ReadonlyMap<string, string>): Map<string, string> {
    const m = new Map(args);
    for (const [k, v] of this.env()) m.set(k, v);
    return m;
  }

  /** The environment of a RUN: ENV, plus the ARGs that no ENV shadows. */
  runEnv(args: ReadonlyMap<string, string>): string[] {
    const env = this.env();
    const out = [...(this.config.Env ?? [])];
    for (const [k, v] of args) if (!env.has(k)) out.push(`${k}=${v}`);
    return out;
  }

  workdir(): string {
    return this.config.WorkingDir || '/';
  }

  user(): string {
    return this.config.User || '';
  }
}

import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { hostCommand } from '../host-commands.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a host helper program (mount, umount, runc...) to completion and
 * collects its output (through the helper shells of host-commands.ts).
 * Rejects only when the program cannot be started; a non-zero exit is the
 * caller's to judge.
 */
export async function runCommand(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<CommandResult> {
  const r = await hostCommand(cmd, args, opts);
  if (r.missing) throw Object.assign(new Error(`${cmd}: not found`), { code: 'ENOENT' });
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
}

/** Like runCommand, but a non-zero exit rejects with the program's stderr. */
export async function mustRun(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The first executable `name` in a `$PATH` directory; undefined when there is none. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

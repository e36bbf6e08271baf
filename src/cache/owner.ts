import { readFile } from 'node:fs/promises';

/**
 * A process as lock files and build sessions record it: its pid plus its
 * start time, so that a pid the kernel reused for another process is not
 * mistaken for the owner.
 */
export interface Owner {
  pid: number;
  start: string;
}

let self: Promise<Owner> | undefined;

/** This process. */
export function currentOwner(): Promise<Owner> {
  self ??= startTime(process.pid).then((start) => ({ pid: process.pid, start }));
  return self;
}

/** Whether the process `owner` names is still running. */
export async function isAlive(owner: Owner): Promise<boolean> {
  if (owner.pid === process.pid) return (await currentOwner()).start === owner.start;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return (await startTime(owner.pid)) === owner.start;
}

/** Parses an owner file's text; undefined when it is not one (empty, half written). */
export function parseOwner(text: string): Owner | undefined {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.start === 'string' ? { pid: o.pid, start: o.start } : undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat: the process start time in clock ticks since boot. */
async function startTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

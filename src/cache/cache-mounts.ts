/**
 * `--cache-mounts-dir DIR`: the contents of `RUN --mount=type=cache` dirs
 * as plain directories a CI system can save and restore between runs
 * (GitHub's actions/cache, GitLab's cache: paths...).
 *
 * Before the build, each cache mount of the plan that the store does not
 * have yet is filled from `DIR/<id>`; after a successful build, each one
 * the build used is copied to `DIR/<id>`, replacing what was there (written
 * aside, then renamed). `<id>` is the mount's id, URI-encoded so that any
 * id is one file name. Copies keep owners, modes and times (`cp -a`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { runCommand } from '../executor/run-command.ts';
import type { Plan } from '../planner/plan.ts';

/**
 * Where the store keeps a cache mount's contents (what
 * `executor/run-mounts.ts` mounts).
 */
export function cacheMountPath(root: string, id: string): string {
  return join(root, 'cache-mounts', createHash('sha256').update(id).digest('hex').slice(0, 32));
}

/** The ids of the cache mounts the plan's RUN steps use. */
export function cacheMountIds(plan: Plan): string[] {
  const ids = new Set<string>();
  for (const stage of plan.stages) {
    for (const step of stage.steps) if (step.op.op === 'run') for (const m of step.op.mounts) if (m.type === 'cache') ids.add(m.id);
  }
  return [...ids];
}

/** Fills the store's cache mounts from `dir` where the store has none yet. Returns the ids imported. */
export async function importCacheMounts(root: string, dir: string, ids: readonly string[]): Promise<string[]> {
  const imported: string[] = [];
  for (const id of ids) {
    const from = join(dir, encodeURIComponent(id));
    if (!(await isDir(from)) || (await isDir(cacheMountPath(root, id)))) continue;
    await copyInto(from, cacheMountPath(root, id));
    imported.push(id);
  }
  return imported;
}

/** Copies the store's cache mounts `ids` (those that exist) to `dir`. Returns the ids exported. */
export async function exportCacheMounts(root: string, dir: string, ids: readonly string[]): Promise<string[]> {
  const exported: string[] = [];
  await mkdir(dir, { recursive: true });
  for (const id of ids) {
    const from = cacheMountPath(root, id);
    if (!(await isDir(from))) continue;
    await copyInto(from, join(dir, encodeURIComponent(id)));
    exported.push(id);
  }
  return exported;
}

/** Copies the dir `from` to `to` (replacing it), through a temp sibling so `to` is never half there. */
async function copyInto(from: string, to: string): Promise<void> {
  const parent = join(to, '..');
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const r = await runCommand('cp', ['-a', '--reflink=auto', from, tmp]);
    if (r.code !== 0) throw new UserError(`cannot copy cache mount ${from} to ${to}: ${r.stderr.trim()}`);
    const old = (await isDir(to)) ? `${tmp}.old` : undefined;
    if (old) await rename(to, old);
    await rename(tmp, to);
    if (old) await rm(old, { recursive: true, force: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}


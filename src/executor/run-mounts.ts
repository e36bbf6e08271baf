import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { cacheMountPath } from '../cache/cache-mounts.ts';
import { UserError, type SourceLocation } from '../errors.ts';
import type { InlineFile, PlannedMount } from '../planner/plan.ts';
import { mountOverlay, unmount } from './overlay.ts';
import type { OciMount } from './runtime-spec.ts';
import { resolveScoped } from './scoped-path.ts';

/** Where a secret's value comes from: `--secret id=X,src=FILE` or `--secret id=X,env=VAR`. */
export type SecretSource = { file: string } | { env: string };

export interface RunMountDeps {
  /** `$TSBUILD_ROOT`: cache mounts persist under `cache-mounts/`. */
  root: string;
  secrets: ReadonlyMap<string, SecretSource>;
  /** `--ssh id=SOCKET`; `default` falls back to `$SSH_AUTH_SOCK`. */
  ssh: ReadonlyMap<string, string>;
  scratch: () => Promise<string>;
  /** The host directory a bind mount's `from` names (the context, or another stage's or image's rootfs view). */
  bindSource: (mount: Extract<PlannedMount, { type: 'bind' }>) => Promise<string>;
}

/** The mounts of one RUN, ready for the runtime spec, and how to undo them. */
export interface PreparedMounts {
  mounts: OciMount[];
  /** Extra environment (`env=` secrets, SSH_AUTH_SOCK): never part of the plan or its keys. */
  env: string[];
  /** Mount targets that must exist in the rootfs: stacked as a lower dir so the runtime need not create them in the layer. */
  stubs: { path: string; dir: boolean }[];
  /** Whether the env holds a secret (then the runtime bundle must live on tmpfs). */
  secretEnv: boolean;
  release(): Promise<void>;
}

/** In-process locks for `sharing=locked` cache mounts, by cache dir. */
const cacheLocks = new Map<string, LimitFunction>();
/** Cache dirs in use by a RUN of this process, for `sharing=private`. */
const cacheInUse = new Set<string>();

/**
 * Prepares a RUN's `--mount`s: binds (read-only, or writable over a
 * throw-away overlay so writes are discarded), persistent cache dirs, tmpfs,
 * secrets (copied to a private tmpfs with their mode and owner — never under
 * the build root) and the SSH agent socket, plus `RUN <<EOF` scripts at
 * `/dev/pipes/NAME`.
 */
export async function prepareRunMounts(
  planned: readonly PlannedMount[],
  files: readonly InlineFile[],
  deps: RunMountDeps,
  where: SourceLocation,
): Promise<PreparedMounts> {
  const mounts: OciMount[] = [];
  const env: string[] = [];
  const stubs: { path: string; dir: boolean }[] = [];
  const undo: (() => Promise<void>)[] = [];
  let secretEnv = false;
  let secretDir: string | undefined;
  const privateTmp = async (): Promise<string> => {
    secretDir ??= await mkdtemp('/dev/shm/tsbuild-');
    return secretDir;
  };
  try {
    for (const m of planned) {
      switch (m.type) {
        case 'bind': {
          const root = await deps.bindSource(m);
          const source = await resolveScoped(root, m.source);
          const st = await stat(source).catch(() => undefined);
          if (!st) throw new UserError(`--mount=type=bind: ${m.source} not found`, where);
          stubs.push({ path: m.target, dir: st.isDirectory() });
          if (!m.readwrite) {
            mounts.push({ destination: m.target, type: 'bind', source, options: ['rbind', 'ro'] });
          } else if (st.isDirectory()) {
            const dir = await deps.scratch();
            const [upper, work, merged] = ['upper', 'work', 'merged'].map((n) => join(dir, n)) as [string, string, string];
            await Promise.all([mkdir(upper), mkdir(work), mkdir(merged)]);
            await mountOverlay(merged, [source], { upper: { upper, work } });
            undo.push(() => unmount(merged));
            mounts.push({ destination: m.target, type: 'bind', source: merged, options: ['rbind', 'rw'] });
          } else {
            const copy = join(await deps.scratch(), 'file');
            await writeFile(copy, await readFile(source));
            mounts.push({ destination: m.target, type: 'bind', source: copy, options: ['rbind', 'rw'] });
          }
          break;
        }
        case 'cache': {
          const dir = await cacheDir(deps.root, m);
          stubs.push({ path: m.target, dir: true });
          let source = dir;
          if (m.sharing === 'locked') {
            let lock = cacheLocks.get(dir);
            if (!lock) cacheLocks.set(dir, (lock = pLimit(1)));
            let release!: () => void;
            const held = new Promise<void>((ok) => (release = ok));
            await new Promise<void>((acquired) => void lock(() => (acquired(), held)));
            undo.push(async () => release());
          } else if (m.sharing === 'private' && cacheInUse.has(dir)) {
            source = join(await deps.scratch(), 'cache');
            await mkdir(source);
            await chmod(source, m.mode);
            await chown(source, m.uid, m.gid);
          }
          cacheInUse.add(source);
          undo.push(async () => void cacheInUse.delete(source));
          mounts.push({ destination: m.target, type: 'bind', source, options: ['rbind', m.readonly ? 'ro' : 'rw'] });
          break;
        }
        case 'tmpfs':
          stubs.push({ path: m.target, dir: true });
          mounts.push({ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.size !== undefined ? [`size=${m.size}`] : [])] });
          break;
        case 'secret': {
          const value = await readSecret(deps.secrets.get(m.id));
          if (value === undefined) {
            if (m.required) throw new UserError(`secret ${m.id} is required: pass it with --secret id=${m.id},src=FILE`, where);
            break;
          }
          if (m.env !== undefined) {
            env.push(`${m.env}=${value.toString('utf8')}`);
            secretEnv = true;
          }
          if (m.target !== undefined) {
            const file = join(await privateTmp(), createHash('sha256').update(m.id).digest('hex').slice(0, 16));
            await writeFile(file, value, { mode: m.mode });
            await chmod(file, m.mode);
            await chown(file, m.uid, m.gid);
            stubs.push({ path: m.target, dir: false });
            mounts.push({ destination: m.target, type: 'bind', source: file, options: ['rbind', 'ro'] });
          }
          break;
        }
        case 'ssh': {
          const socket = deps.ssh.get(m.id) ?? (m.id === 'default' ? process.env.SSH_AUTH_SOCK : undefined);
          const ok = socket !== undefined && (await lstat(socket).then((s) => s.isSocket(), () => false));
          if (!ok) {
            if (m.required) throw new UserError(`ssh agent ${m.id} is required: pass --ssh ${m.id}=SOCKET or set SSH_AUTH_SOCK`, where);
            // BuildKit still names the agent socket, so that the step behaves the same with or without one
            env.push(`SSH_AUTH_SOCK=${m.target}`);
            break;
          }
          stubs.push({ path: m.target, dir: false });
          mounts.push({ destination: m.target, type: 'bind', source: socket, options: ['rbind'] });
          env.push(`SSH_AUTH_SOCK=${m.target}`);
          break;
        }
      }
    }
    for (const f of files) {
      const path = join(await deps.scratch(), 'script');
      await writeFile(path, f.content, { mode: 0o755 });
      mounts.push({ destination: posix.join('/dev/pipes', f.name), type: 'bind', source: path, options: ['rbind', 'ro'] });
    }
  } catch (e) {
    for (const u of undo.reverse()) await u();
    if (secretDir) await rm(secretDir, { recursive: true, force: true });
    throw e;
  }
  return {
    mounts,
    env,
    stubs,
    secretEnv,
    release: async () => {
      for (const u of undo.reverse()) await u();
      if (secretDir) await rm(secretDir, { recursive: true, force: true });
    },
  };
}

async function readSecret(source: SecretSource | undefined): Promise<Buffer | undefined> {
  if (!source) return undefined;
  if ('file' in source) {
    return readFile(source.file).catch(() => {
      throw new UserError(`cannot read secret file ${source.file}`);
    });
  }
  const v = process.env[source.env];
  return v === undefined ? undefined : Buffer.from(v);
}

/** The persistent dir of a cache mount, created with its mode and owner on first use. */
async function cacheDir(root: string, m: Extract<PlannedMount, { type: 'cache' }>): Promise<string> {
  const dir = cacheMountPath(root, m.id);
  try {
    await mkdir(dir, { recursive: false });
    await chmod(dir, m.mode);
    await chown(dir, m.uid, m.gid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      await mkdir(dirname(dir), { recursive: true });
      return cacheDir(root, m);
    }
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return dir;
}

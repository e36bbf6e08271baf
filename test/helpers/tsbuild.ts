import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, for fixtures and the bundled CLI. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixture = (...parts: string[]): string => join(projectRoot, 'fixtures', ...parts);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bundled `bin/tsbuild` as a user would, with its own
 * `$TSBUILD_ROOT`. Tests assert on what it prints and leaves behind.
 */
export function tsbuild(root: string, args: readonly string[], opts: { cwd?: string; env?: Record<string, string>; stdin?: Buffer | string } = {}): Promise<CliResult> {
  return run(join(projectRoot, 'bin/tsbuild'), args, {
    cwd: opts.cwd ?? projectRoot,
    env: { ...process.env, TSBUILD_ROOT: root, NO_COLOR: '1', ...opts.env },
    ...(opts.stdin !== undefined && { stdin: opts.stdin }),
  });
}

/** Runs any program (`stdin` piped in, else an empty input) and collects its output; never rejects on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: Buffer | string } = {}): Promise<CliResult> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // a program that exits without reading its input must not fail the write
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => ok({ code: code ?? 1, stdout, stderr }));
  });
}

/** Like `run`, but a non-zero exit fails the test with the program's output. */
export async function mustRun(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A fresh temp dir and a function that removes it. */
export async function tempDir(prefix = 'tsbuild-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Writes a build context whose Dockerfile is `FROM scratch` + `ADD rootfs.tar /`
 * over a busybox-static rootfs, builds it with `-t name`, and returns the name.
 */
export async function buildBusyboxBase(root: string, work: string, name: string): Promise<string> {
  const ctx = join(work, 'busybox-base');
  await mustRun('bash', [fixture('base', 'make-busybox-rootfs.sh'), join(ctx, 'rootfs')]);
  await mustRun('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=2020-01-01 00:00:00Z', '-C', join(ctx, 'rootfs'), '-cf', join(ctx, 'rootfs.tar'), '.']);
  await rm(join(ctx, 'rootfs'), { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\nCMD ["sh"]\n');
  const r = await tsbuild(root, ['build', '-t', name, ctx]);
  if (r.code !== 0) throw new Error(`building the busybox base failed:\n${r.stderr}`);
  return name;
}

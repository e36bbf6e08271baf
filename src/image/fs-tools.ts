/**
 * The file system operations Node has no API for (extended attributes,
 * device nodes, FIFOs), done by running the standard tools (see host-commands.ts): `getfattr` and
 * `setfattr` from the `attr` package, `mknod` from coreutils. Batched so a
 * layer costs one `getfattr` to read and one `setfattr` to write.
 *
 * - `readXattrsTree(root)`: every xattr under `root` (symlinks not followed),
 *   keyed by absolute path.
 * - `writeXattrs(list)`: sets them all in one `setfattr --restore` run.
 * - `makeNode(path, kind, major, minor)`: one `mknod`.
 *
 * The writes fail with a `ToolError` whose `errno` tells a file system that
 * refuses the operation (`EPERM`, `EOPNOTSUPP`, `EINVAL`) from other
 * failures: host programs run in the C locale (host-commands.ts), so the
 * tool's message ends with strerror's English text, which is mapped back.
 */
import { UserError } from '../errors.ts';
import { hostCommand } from '../host-commands.ts';

/** A failed write; `errno` is the error the tool reported, when it is one of ERRNO_TEXT's. */
export class ToolError extends UserError {
  constructor(
    message: string,
    readonly errno: string | undefined,
  ) {
    super(message);
  }
}

/** strerror's text (glibc, C locale) → errno name, for the errors callers tell apart. */
const ERRNO_TEXT = new Map([
  ['Operation not permitted', 'EPERM'],
  ['Operation not supported', 'EOPNOTSUPP'],
  ['Invalid argument', 'EINVAL'],
]);

/** The errno named by the first `tool: path: message` line of `stderr`, when it is known. */
function errnoOf(stderr: string): string | undefined {
  const line = stderr.split('\n')[0] ?? '';
  return ERRNO_TEXT.get(line.slice(line.lastIndexOf(': ') + 2));
}

export type XattrTree = Map<string, Map<string, Buffer>>;

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/** The apt package a missing tool comes from, for the error. */
function notInstalled(cmd: string): UserError {
  return new UserError(`${cmd} is not installed (apt-get install -y ${cmd === 'mknod' ? 'coreutils' : 'attr'})`);
}

/** Runs a tool through host-commands.ts, with an install hint when it is missing. */
async function run(cmd: string, args: string[], input?: Buffer): Promise<RunResult> {
  const r = await hostCommand(cmd, args, input !== undefined ? { input } : {});
  if (r.missing) throw notInstalled(cmd);
  return { stdout: r.stdout, stderr: r.stderr.trim(), code: r.code };
}

/** getfattr prints paths with `\ooo` octal escapes for newlines, backslashes and the like. */
function unescapePath(s: string): string {
  const raw = Buffer.from(s, 'utf8');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x5c && /^[0-7]{3}$/.test(raw.toString('latin1', i + 1, i + 4))) {
      bytes.push(parseInt(raw.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The inverse, escaping everything that could confuse setfattr's line-based parser. */
function escapePath(path: string): string {
  const out: string[] = [];
  for (const c of Buffer.from(path, 'utf8')) {
    out.push(c <= 0x20 || c === 0x5c || c === 0x7f ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c));
  }
  return Buffer.from(out.join(''), 'latin1').toString('utf8');
}

/** All extended attributes under `root`, recursively, without following symlinks. */
export async function readXattrsTree(root: string): Promise<XattrTree> {
  const r = await run('getfattr', ['--absolute-names', '--recursive', '--physical', '--no-dereference', '--dump', '--match=-', '--encoding=hex', root]);
  if (r.code !== 0) throw new Error(`getfattr on ${root} failed: ${r.stderr}`);
  const tree: XattrTree = new Map();
  let current: Map<string, Buffer> | undefined;
  for (const line of r.stdout.toString('utf8').split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      tree.set(unescapePath(line.slice('# file: '.length)), current);
    } else if (line !== '' && current) {
      const eq = line.indexOf('=');
      const name = eq < 0 ? line : line.slice(0, eq);
      const value = eq < 0 ? '' : line.slice(eq + 1);
      if (!value.startsWith('0x') && value !== '') throw new Error(`unexpected getfattr value encoding: ${line}`);
      current.set(name, Buffer.from(value.slice(2), 'hex'));
    }
  }
  return tree;
}

export interface XattrWrite {
  path: string;
  name: string;
  value: Buffer;
}

/** Sets extended attributes (on symlinks themselves, not their targets) in one setfattr run. */
export async function writeXattrs(list: readonly XattrWrite[]): Promise<void> {
  if (list.length === 0) return;
  const byPath = new Map<string, XattrWrite[]>();
  for (const x of list) byPath.set(x.path, [...(byPath.get(x.path) ?? []), x]);
  const lines: string[] = [];
  for (const [path, xs] of byPath) {
    lines.push(`# file: ${escapePath(path)}`);
    for (const x of xs) lines.push(`${x.name}=0x${x.value.toString('hex')}`);
    lines.push('');
  }
  const r = await run('setfattr', ['--no-dereference', '--restore=-'], Buffer.from(lines.join('\n') + '\n', 'utf8'));
  if (r.code !== 0) throw new ToolError(`setting extended attributes failed: ${r.stderr.split('\n')[0] ?? ''}`, errnoOf(r.stderr));
}

/** Creates a device node or FIFO with mode 0 (the caller sets attributes afterwards). */
export async function makeNode(path: string, kind: 'char' | 'block' | 'fifo', major = 0, minor = 0): Promise<void> {
  const args =
    kind === 'fifo'
      ? ['-m', '0', '--', path, 'p']
      : ['-m', '0', '--', path, kind === 'char' ? 'c' : 'b', String(major), String(minor)];
  const r = await run('mknod', args);
  if (r.code !== 0) throw new ToolError(`mknod ${path} failed: ${r.stderr}`, errnoOf(r.stderr));
}

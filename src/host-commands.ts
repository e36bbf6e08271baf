/**
 * Runs short host programs (mount, umount, getfattr, mknod, runc delete…)
 * through a few long-lived `sh` processes instead of spawning each from node.
 *
 * Node forks its whole address space for every spawn: the event loop stops
 * for 2–5 ms each time (more as the heap grows), and a build runs several
 * such programs per step. A shell forks in a fraction of that, on whichever
 * core is free. Programs that stream output or run long (the containers)
 * are still spawned directly.
 *
 *   const r = await hostCommand('umount', [target]);
 *   if (r.code !== 0) …r.stderr…
 *
 * Each shell runs one command at a time, read as a line from its stdin:
 * the command in a subshell (its own cwd, stdin from /dev/null), then an
 * end marker on stdout and on stderr and the exit status on fd 3. Output is
 * split at the markers, so a command's output never mixes with the next
 * one's. Up to MAX_SHELLS run at once; a command waits for the least busy.
 * An argument the line protocol cannot carry (a newline, a NUL), or input
 * for the program, makes that one command spawn directly. The shells ignore SIGINT, as do the programs
 * they start: a Ctrl-C in the terminal must not cut short the unmounts that
 * clean up after it. Idle shells do not keep node alive, and they
 * exit when node does (their stdin closes).
 *
 * Every program runs in the C locale (see programEnv).
 *
 * Programs that run long and stream their output (the containers) go
 * through `streamCommand` and a pool of their own: one program per shell at
 * a time, so they never hold up a mount, and as many shells as programs
 * running at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface HostCommandResult {
  /** The exit status; 127 when the program is not installed (see `missing`). */
  code: number;
  stdout: Buffer;
  stderr: string;
  /** The program could not be found or started. */
  missing: boolean;
}

/**
 * Runs `cmd args…` (in `cwd`, with `input` on its stdin, else none) to
 * completion; never rejects on a non-zero exit.
 */
export function hostCommand(cmd: string, args: readonly string[], opts: { cwd?: string; input?: Buffer } = {}): Promise<HostCommandResult> {
  const line = commandLine(cmd, args, opts.cwd);
  return opts.input !== undefined || line === undefined ? spawnDirectly(cmd, args, opts) : pickShell().run(line);
}

/**
 * Runs `cmd args…` (no stdin) to completion, handing each piece of its
 * stdout and stderr to `onOutput` as it arrives; resolves with the exit
 * status (127 when the program is not installed; the shell's message then
 * comes through `onOutput`). These shells run in a process group of their
 * own, so a Ctrl-C in the terminal reaches node alone, which stops the
 * programs its own way (a container: `runc kill`); unlike the others they
 * do not ignore SIGINT, so neither do the programs they start. An argument
 * the line protocol cannot carry makes the program spawn directly.
 */
export function streamCommand(cmd: string, args: readonly string[], onOutput: (chunk: Buffer, stream: 'stdout' | 'stderr') => void): Promise<number> {
  const line = commandLine(cmd, args);
  const shell = line === undefined ? undefined : (streamShells.find((s) => s.pending === 0) ?? newStreamShell());
  return (shell && line !== undefined ? shell.run(line, onOutput) : spawnDirectly(cmd, args, { onOutput })).then((r) => r.code);
}

const streamShells: HelperShell[] = [];

function newStreamShell(): HelperShell {
  const shell = new HelperShell(false, () => streamShells.splice(streamShells.indexOf(shell), 1));
  streamShells.push(shell);
  return shell;
}

const MAX_SHELLS = 4;
const MARK = '\x00\x1ctsbuild-end\x1c\x00';
const MARK_BYTES = Buffer.from(MARK, 'latin1');
/** The shell's own status for a program it cannot find (and its message), as sh and dash print them. */
const NOT_FOUND = 127;

const shells: HelperShell[] = [];

function pickShell(): HelperShell {
  const idle = shells.find((s) => s.pending === 0);
  if (idle) return idle;
  if (shells.length < MAX_SHELLS) {
    const shell = new HelperShell(true, () => shells.splice(shells.indexOf(shell), 1));
    shells.push(shell);
    return shell;
  }
  return shells.reduce((a, b) => (b.pending < a.pending ? b : a));
}

/**
 * The environment programs run with: this process's, in the C locale, so
 * that their messages are the English ones callers read (the shell's "not
 * found", strerror's texts in fs-tools.ts) whatever the user's locale.
 */
function programEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C' };
}

/** The line a helper shell runs for `cmd args…` (in `cwd`, stdin from /dev/null); undefined when a word holds a newline or a NUL, which a line cannot carry. */
function commandLine(cmd: string, args: readonly string[], cwd?: string): string | undefined {
  const words = [cmd, ...args];
  if ([...words, cwd ?? ''].some((w) => /[\n\0]/.test(w))) return undefined;
  const cd = cwd !== undefined ? `cd -- ${quote(cwd)} && ` : '';
  return `(${cd}exec ${words.map(quote).join(' ')}) </dev/null`;
}

/** `'…'` with embedded quotes closed and reopened: one word for sh, whatever it holds. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

interface Waiting {
  resolve: (r: HostCommandResult) => void;
  reject: (e: Error) => void;
  /** Takes the output as it comes; without it, output is collected until the command ends. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Output received so far, when it is collected. */
  partial: { stdout: Buffer[]; stderr: Buffer[] };
  stdout?: Buffer;
  stderr?: Buffer;
  code?: number;
}

/** MARK in printf's octal escapes. */
const MARK_FORMAT = '\\000\\034tsbuild-end\\034\\000';
const LOOP = `while IFS= read -r line; do eval "$line"; s=$?; printf '${MARK_FORMAT}'; printf '${MARK_FORMAT}' >&2; echo "$s" >&3; done`;

class HelperShell {
  private readonly child: ChildProcess;
  private readonly stdin: Writable;
  private readonly queue: Waiting[] = [];
  private failed: Error | undefined;

  /** `ignoreInterrupts`: the shell and its programs ignore SIGINT; otherwise they get a process group of their own. */
  constructor(ignoreInterrupts: boolean, onExit: () => void) {
    this.child = ignoreInterrupts
      ? spawn('sh', ['-c', `trap '' INT; ${LOOP}`], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: programEnv() })
      : spawn('sh', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true, env: programEnv() });
    this.stdin = this.child.stdin as Writable;
    const [out, err, status] = [this.child.stdout, this.child.stderr, this.child.stdio[3]] as Readable[];
    splitAtMarks(out as Readable, (b, complete) => this.output('stdout', b, complete));
    splitAtMarks(err as Readable, (b, complete) => this.output('stderr', b, complete));
    let lines = '';
    (status as Readable).setEncoding('utf8').on('data', (s: string) => {
      lines += s;
      for (let nl = lines.indexOf('\n'); nl >= 0; nl = lines.indexOf('\n')) {
        this.settle('code', Number(lines.slice(0, nl)));
        lines = lines.slice(nl + 1);
      }
    });
    this.stdin.on('error', () => undefined);
    const fail = (e: Error): void => {
      onExit();
      this.failed = e;
      for (const w of this.queue.splice(0)) w.reject(e);
    };
    this.child.on('error', fail);
    this.child.on('exit', (code, signal) => fail(new Error(`the helper shell exited (${signal ?? `code ${code}`})`)));
    this.unref();
  }

  get pending(): number {
    return this.queue.length;
  }

  run(line: string, onOutput?: Waiting['onOutput']): Promise<HostCommandResult> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) this.ref();
      this.queue.push({ resolve, reject, partial: { stdout: [], stderr: [] }, ...(onOutput && { onOutput }) });
      this.stdin.write(`${line}\n`);
    });
  }

  /** Output of the command whose `stream` is still open: a piece of it, or (`complete`) its last piece. */
  private output(stream: 'stdout' | 'stderr', chunk: Buffer, complete: boolean): void {
    const w = this.queue.find((q) => q[stream] === undefined);
    if (!w) return;
    if (w.onOutput) {
      if (chunk.length > 0) w.onOutput(chunk, stream);
    } else if (chunk.length > 0) w.partial[stream].push(chunk);
    if (complete) this.settle(stream, Buffer.concat(w.partial[stream].splice(0)));
  }

  /** Records one part of a command's answer: each stream's parts arrive in the order the commands ran. */
  private settle(part: 'stdout' | 'stderr' | 'code', value: Buffer | number): void {
    const w = this.queue.find((q) => q[part] === undefined);
    if (!w) return;
    if (part === 'code') w.code = value as number;
    else w[part] = value as Buffer;
    // answers go out in order, each once all three of its parts are in
    for (let head = this.queue[0]; head?.stdout !== undefined && head.stderr !== undefined && head.code !== undefined; head = this.queue[0]) {
      this.queue.shift();
      if (this.queue.length === 0) this.unref();
      const stderr = head.stderr.toString('utf8');
      head.resolve({ code: head.code, stdout: head.stdout, stderr, missing: head.code === NOT_FOUND && /not found/.test(stderr) });
    }
  }

  /** Keeps node running while a command is out, and lets it exit when none is. */
  private ref(): void {
    this.child.ref();
    for (const s of this.child.stdio) (s as { ref?: () => void } | null)?.ref?.();
  }

  private unref(): void {
    this.child.unref();
    for (const s of this.child.stdio) (s as { unref?: () => void } | null)?.unref?.();
  }
}

/**
 * Calls `onPart` with `stream`'s bytes as they come, marks left out:
 * `complete` when a MARK ends the part. Bytes that could be the start of a
 * MARK wait for the next chunk.
 */
function splitAtMarks(stream: Readable, onPart: (part: Buffer, complete: boolean) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (let at = buffered.indexOf(MARK_BYTES); at >= 0; at = buffered.indexOf(MARK_BYTES)) {
      onPart(buffered.subarray(0, at), true);
      buffered = buffered.subarray(at + MARK_BYTES.length);
    }
    const keep = markPrefixAtEnd(buffered);
    if (buffered.length > keep) {
      onPart(buffered.subarray(0, buffered.length - keep), false);
      buffered = buffered.subarray(buffered.length - keep);
    }
  });
}

/** How many bytes at the end of `b` are the beginning of a MARK. */
function markPrefixAtEnd(b: Buffer): number {
  for (let n = Math.min(MARK_BYTES.length - 1, b.length); n > 0; n--) {
    if (b.subarray(b.length - n).equals(MARK_BYTES.subarray(0, n))) return n;
  }
  return 0;
}

/**
 * Spawns the program from node: for what the shells' line protocol cannot
 * carry. With `onOutput` (a streamed command, see streamCommand) the output
 * goes there as it comes, in a process group of its own; otherwise it is
 * collected.
 */
function spawnDirectly(cmd: string, args: readonly string[], opts: { cwd?: string; input?: Buffer; onOutput?: Waiting['onOutput'] }): Promise<HostCommandResult> {
  return new Promise((resolve) => {
    const onOutput = opts.onOutput;
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: onOutput !== undefined, env: programEnv(), ...(opts.cwd !== undefined && { cwd: opts.cwd }) });
    // a program that exits without reading its input must not fail the write
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => (onOutput ? onOutput(b, 'stdout') : out.push(b)));
    child.stderr.on('data', (b: Buffer) => (onOutput ? onOutput(b, 'stderr') : err.push(b)));
    child.on('error', (e: NodeJS.ErrnoException) => {
      onOutput?.(Buffer.from(`${cmd}: ${e.message}\n`), 'stderr');
      resolve({ code: NOT_FOUND, stdout: Buffer.alloc(0), stderr: e.message, missing: e.code === 'ENOENT' });
    });
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), missing: false }),
    );
  });
}

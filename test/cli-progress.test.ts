import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { playScreen } from './helpers/screen.ts';
import { buildBusyboxBase, fixture, projectRoot, run, tempDir, tsbuild, type CliResult } from './helpers/tsbuild.ts';

/** The lines of BuildKit's plain mode, as docs/progress.md documents them. */
const PLAIN = {
  label: /^#(\d+) (\[[^\]]+ \d+\/\d+\] .+)$/,
  output: /^#(\d+) \d+\.\d{3} (.*)$/,
  done: /^#(\d+) DONE \d+\.\ds$/,
  cached: /^#(\d+) CACHED$/,
  error: /^#(\d+) ERROR: .+$/,
};

/** Checks every line of a plain log against the documented forms; returns each step's lines (without `#N `), in order. */
function parsePlain(stderr: string): Map<number, string[]> {
  const steps = new Map<number, string[]>();
  const lines = stderr.replace(/\n$/, '').split('\n');
  let previous: string | number | undefined;
  for (const [i, line] of lines.entries()) {
    if (line === '') {
      assert.notEqual(previous, undefined, 'no blank line first');
      assert.notEqual(lines[i + 1], '', 'one blank line at a time');
      previous = 'blank';
      continue;
    }
    const m = /^#(\d+) /.exec(line);
    if (!m) {
      assert.match(line, /^(writing image sha256:[0-9a-f]{64}|naming to \S+|built sha256:[0-9a-f]{64} in \d+\.\ds: \d+ layers?, [\d.]+k?M?B, \d+ of \d+ steps cached|named .+|warning: .+)$/, line);
      previous = 'other';
      continue;
    }
    const id = Number(m[1]);
    const group = steps.get(id);
    if (previous !== undefined && previous !== id) assert.equal(previous, 'blank', `a blank line before the lines of #${id} (line ${i + 1})`);
    previous = id;
    if (!group) {
      assert.match(line, PLAIN.label, 'a step starts with its label');
      steps.set(id, [line.slice(m[0].length)]);
      continue;
    }
    assert.ok([PLAIN.output, PLAIN.done, PLAIN.cached, PLAIN.error].some((re) => re.test(line)), `#${id}: ${line}`);
    assert.ok(!/^(DONE|CACHED|ERROR)/.test(group.at(-1) ?? ''), `#${id} has lines after it ended: ${line}`);
    group.push(line.slice(m[0].length));
  }
  return steps;
}

it('the plain example in docs/progress.md has the documented form', () => {
  const doc = readFileSync(join(projectRoot, 'docs/progress.md'), 'utf8');
  const example = /## plain\n[\s\S]*?```\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const steps = parsePlain(example);
  assert.deepEqual([...steps.keys()], [1, 2, 3]);
});

describe('progress of real builds', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  const validate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(join(projectRoot, 'docs/progress.schema.json'), 'utf8')) as object);

  before(async () => {
    work = await tempDir('tsbuild-cli-progress-');
    root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
  });
  after(async () => work.cleanup());

  it('plain: the documented format, then the summary; a rebuild is all CACHED', async () => {
    const r = await tsbuild(root, ['build', '--progress', 'plain', '-t', 'cli.test/app:1', fixture('cli', 'app')]);
    assert.equal(r.code, 0, r.stderr);
    const steps = parsePlain(r.stderr);
    assert.deepEqual([...steps.values()].map((s) => s[0]), [
      '[stage-0 1/3] WORKDIR /app',
      '[stage-0 2/3] COPY greeting.txt ./',
      '[stage-0 3/3] RUN echo "compiling greeting" && echo "a warning on stderr" >&2 && cat greeting.txt > out.txt',
    ]);
    const run = [...steps.values()][2] ?? [];
    assert.deepEqual(run.slice(1, -1).map((l) => l.replace(/^\d+\.\d{3} /, '')).sort(), ['a warning on stderr', 'compiling greeting']);
    assert.match(run.at(-1) ?? '', /^DONE \d+\.\ds$/);
    const digest = r.stdout.trim();
    assert.match(r.stderr, new RegExp(`\nbuilt ${digest} in \\d+\\.\\ds: 4 layers, [\\d.]+[kM]?B, 0 of 3 steps cached\nnamed cli.test/app:1\n$`));

    const again = await tsbuild(root, ['build', '--progress=plain', '-t', 'cli.test/app:1', fixture('cli', 'app')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, r.stdout, 'the same image');
    assert.deepEqual([...parsePlain(again.stderr).values()].map((s) => s.slice(1)), [['CACHED'], ['CACHED'], ['CACHED']]);
    assert.match(again.stderr, /, 3 of 3 steps cached\n/);
  });

  it('plain: a step printing more than the log limit spills the rest to a file named in the log', async () => {
    const r = await tsbuild(root, ['build', '--progress', 'plain', fixture('cli', 'chatty')], { env: { TSBUILD_STEP_LOG_MAX_SIZE: '300' } });
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stderr.split('\n').filter((l) => /^#\d+ \d+\.\d{3} chatty line/.test(l)).map((l) => l.replace(/^#\d+ \S+ /, ''));
    const path = /\[output beyond 300B: the rest of this step's output is in (\S+)\]/.exec(r.stderr)?.[1];
    assert.ok(path, r.stderr);
    const spilled = (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => l.replace(/^\S+ /, ''));
    assert.ok(printed.length > 0 && spilled.length > 0);
    assert.deepEqual([...printed, ...spilled], Array.from({ length: 50 }, (_, i) => `chatty line ${i + 1}`), 'every line, in order, nothing clipped');
    parsePlain(r.stderr.replace(/^#\d+ \[output beyond.*\n/m, ''));
  });

  it('json: every line is an event of the documented shape, from plan to result', async () => {
    const r = await tsbuild(root, ['build', '--no-cache', '--progress', 'json', fixture('cli', 'app')]);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; id?: number; time: number; result?: { manifest: string } });
    for (const e of events) assert.ok(validate(e), `${JSON.stringify(e)}: ${JSON.stringify(validate.errors)}`);
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'plan');
    assert.equal(types.at(-1), 'result');
    assert.equal(events.at(-1)?.result?.manifest, r.stdout.trim());
    assert.deepEqual(types.filter((t) => t === 'step-start').length, 3);
    assert.deepEqual(types.filter((t) => t === 'step-done').length, 3);
    assert.ok(types.includes('step-output'));
    const times = events.map((e) => e.time);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'times never go back');
  });

  it('a failing RUN: its output and exit code, the Dockerfile lines around it, then one error line; exit 1', async () => {
    const r = await tsbuild(root, ['build', '--progress', 'plain', fixture('cli', 'fail')]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines.at(-1) ?? '', /^error: Dockerfile:3:1: RUN failed: .*exited with code 3/);
    assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1);
    const box = lines.indexOf(' > [stage-0 2/3] RUN echo "about to fail" && echo oops >&2 && exit 3:');
    assert.ok(box > 0, r.stderr);
    assert.equal(lines[box - 1], '------');
    assert.deepEqual(lines.slice(box + 1, box + 3).sort(), ['about to fail', 'oops']);
    const excerpt = lines.indexOf('Dockerfile:3');
    assert.ok(excerpt > box, r.stderr);
    assert.deepEqual(lines.slice(excerpt + 1, excerpt + 7), [
      '--------------------',
      '  1 |     FROM tsbuild.test/busybox:1.35',
      '  2 |     RUN echo before',
      '  3 | >>> RUN echo "about to fail" && echo oops >&2 && exit 3',
      '  4 |     RUN echo never',
      '--------------------',
    ]);
    assert.match(r.stderr, /^#\d+ ERROR: RUN failed/m);
  });

  it('a failing RUN in json mode: the error is an event, and nothing else is printed', async () => {
    const r = await tsbuild(root, ['build', '--progress', 'json', fixture('cli', 'fail')]);
    assert.equal(r.code, 1);
    const events = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; exitCode?: number; location?: { line: number } });
    for (const e of events) assert.ok(validate(e), JSON.stringify(e));
    const last = events.at(-1);
    assert.equal(last?.type, 'error');
    assert.equal(last?.exitCode, 1);
    assert.equal(last?.location?.line, 3);
    assert.ok(events.some((e) => e.type === 'step-error'));
  });

  it('-q prints the digest only', async () => {
    const r = await tsbuild(root, ['build', '-q', fixture('cli', 'app')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(r.stderr, '');
  });

  describe('tty, under a real pseudo-terminal (script)', () => {
    /** Runs tsbuild under `script` on a COLSxROWS terminal; returns what the terminal got. */
    function underPty(args: string[], size: { cols: number; rows: number }, env: Record<string, string>): Promise<CliResult> {
      const command = `stty cols ${size.cols} rows ${size.rows} && exec '${join(projectRoot, 'bin/tsbuild')}' ${args.map((a) => `'${a}'`).join(' ')}`;
      const { NO_COLOR: _, FORCE_COLOR: __, ...rest } = process.env;
      return run('script', ['-qefc', command, '/dev/null'], { env: { ...rest, TSBUILD_ROOT: root, TERM: 'xterm-256color', ...env } });
    }

    it('redraws in place and leaves the final frame: header, every step, the summary; coloured with FORCE_COLOR', async () => {
      const size = { cols: 100, rows: 30 };
      const r = await underPty(['build', '--no-cache', '-t', 'cli.test/app:tty', fixture('cli', 'app')], size, { FORCE_COLOR: '1' });
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /\x1b\[\d*A/, 'the cursor moves up to redraw');
      const screen = await playScreen(r.stdout, size);
      const at = (re: RegExp): number[] => screen.lines.flatMap((l, i) => (re.test(l) ? [i] : []));
      const header = at(/^\[\+\] Building/);
      assert.equal(header.length, 1, screen.lines.join('\n'));
      const h = header[0] as number;
      assert.match(screen.lines[h] ?? '', /^\[\+\] Building \d+\.\ds \(3\/3\) FINISHED$/);
      assert.match(screen.lines[h + 1] ?? '', /^ => \[stage-0 1\/3\] WORKDIR \/app +\d+\.\ds$/);
      assert.match(screen.lines[h + 2] ?? '', /^ => \[stage-0 2\/3\] COPY greeting\.txt \.\/ +\d+\.\ds$/);
      assert.match(screen.lines[h + 3] ?? '', /^ => \[stage-0 3\/3\] RUN echo "compiling greeting" .*… +\d+\.\ds$/);
      assert.equal((screen.lines[h + 3] ?? '').length, size.cols - 1);
      assert.match(screen.lines[h + 4] ?? '', /^built sha256:[0-9a-f]{12} in \d+\.\ds: 4 layers, [\d.]+[kM]?B, 0 of 3 steps cached$/);
      assert.equal(screen.lines[h + 5], 'named cli.test/app:tty');
      assert.match(screen.lines[h + 6] ?? '', /^sha256:[0-9a-f]{64}$/, 'then stdout: the digest');
      assert.equal(at(/=> => #/).length, 0, 'no output lines left once steps are done');
      assert.equal(screen.coloured, true);
    });

    it('on a narrow terminal with NO_COLOR: no frame line wraps, no colour', async () => {
      const size = { cols: 40, rows: 12 };
      const r = await underPty(['build', '--no-cache', '--progress', 'auto', fixture('cli', 'app')], size, { NO_COLOR: '1' });
      assert.equal(r.code, 0, r.stdout);
      const screen = await playScreen(r.stdout, size);
      const h = screen.lines.findIndex((l) => l.startsWith('[+] Building'));
      assert.ok(h >= 0, screen.lines.join('\n'));
      assert.equal(screen.lines.filter((l) => l.startsWith('[+] Building')).length, 1);
      const frame = screen.lines.slice(h, h + 4);
      assert.deepEqual(screen.wrapped.slice(h, h + 4), [false, false, false, false], frame.join('\n'));
      for (const line of frame) assert.ok(line.length <= size.cols - 1, line);
      assert.match(frame[3] ?? '', /^ => \[stage-0 3\/3\] RUN .*…\s+\d+\.\ds$/);
      assert.equal(screen.coloured, false);
    });
  });
});

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { Chalk } from 'chalk';
import type { ProgressEvent } from '../src/progress/events.ts';
import { jsonRenderer } from '../src/progress/json.ts';
import { plainRenderer } from '../src/progress/plain.ts';
import { createRenderer } from '../src/progress/renderer.ts';
import { BuildState } from '../src/progress/state.ts';
import { drawFrame } from '../src/progress/tty-frame.ts';
import { ttyRenderer } from '../src/progress/tty.ts';
import { playScreen } from './helpers/screen.ts';
import { projectRoot } from './helpers/tsbuild.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const CONFIG = `sha256:${'cd'.repeat(32)}`;

/** A clock the test moves by hand (ms). */
function clock(): { now: () => number; at: (ms: number) => void } {
  let t = 0;
  return { now: () => t, at: (ms) => (t = ms) };
}

/** A small build: a cached step, two running at once with output, one failing, a pull. */
function story(at: (ms: number) => void, failing: boolean): [number, ProgressEvent][] {
  return [
    [0, { type: 'plan', steps: 3 }],
    [10, { type: 'step-cached', id: 1, label: '[stage-0 1/2] WORKDIR /app' }],
    [1000, { type: 'step-start', id: 2, label: '[stage-0 2/2] RUN make' }],
    [1123.4, { type: 'step-output', id: 2, line: 'cc main.c', stream: 'stdout' }],
    [1200, { type: 'step-start', id: 3, label: '[tools 1/1] RUN fetch' }],
    [1300, { type: 'step-output', id: 3, line: 'fetching', stream: 'stderr' }],
    [1500, { type: 'step-output', id: 2, line: 'ld app', stream: 'stdout' }],
    [1600, { type: 'step-done', id: 2, seconds: 0.6 }],
    [1700, failing ? { type: 'step-error', id: 3, message: 'RUN failed: boom', exitCode: 2 } : { type: 'step-done', id: 3, seconds: 0.5 }],
    [1750, { type: 'transfer-done', id: DIGEST, action: 'pull', name: 'example.com/base:1', bytes: 2_400_000, how: 'sent' }],
    [1800, { type: 'info', message: `writing image ${CONFIG}` }],
    ...(failing ? [] : ([[1900, { type: 'result', result: { manifest: DIGEST, config: CONFIG, names: ['docker.io/library/app:1'], size: 1_230_000, layers: 4, steps: 3, cached: 1, seconds: 1.9 } }]] as [number, ProgressEvent][])),
  ].map(([t, e]) => {
    at(t as number);
    return [t as number, e as ProgressEvent];
  });
}

describe('plain renderer', () => {
  it('prints BuildKit plain lines: #N label, #N seconds line, DONE / CACHED / ERROR, groups apart, failed steps again at the end', () => {
    const c = clock();
    let out = '';
    const r = plainRenderer({ write: (t) => (out += t), now: c.now });
    for (const [t, e] of story(() => undefined, true)) {
      c.at(t);
      r.sink(e);
    }
    r.finish({ failed: true });
    assert.equal(
      out,
      [
        '#1 [stage-0 1/2] WORKDIR /app',
        '#1 CACHED',
        '',
        '#2 [stage-0 2/2] RUN make',
        '#2 0.123 cc main.c',
        '',
        '#3 [tools 1/1] RUN fetch',
        '#3 0.100 fetching',
        '',
        '#2 0.500 ld app',
        '#2 DONE 0.6s',
        '',
        '#3 ERROR: RUN failed: boom',
        '',
        'sha256:abababababab: pulled 2.4 MB',
        `writing image ${CONFIG}`,
        '------',
        ' > [tools 1/1] RUN fetch:',
        'fetching',
        'exit code: 2',
        '------',
        '',
      ].join('\n'),
    );
  });

  it('ends with the summary on success', () => {
    const c = clock();
    let out = '';
    const r = plainRenderer({ write: (t) => (out += t), now: c.now });
    for (const [t, e] of story(() => undefined, false)) {
      c.at(t);
      r.sink(e);
    }
    r.finish({ failed: false });
    assert.match(out, new RegExp(`\nbuilt ${DIGEST} in 1\\.9s: 4 layers, 1\\.23MB, 1 of 3 steps cached\nnamed docker.io/library/app:1\n$`));
  });

  describe('output beyond the log limit', () => {
    let dir: string;
    before(async () => (dir = await mkdtemp(join(tmpdir(), 'tsbuild-spill-'))));
    after(() => rm(dir, { recursive: true, force: true }));

    it('goes to a file whose path is printed; nothing is lost', async () => {
      let out = '';
      const r = plainRenderer({ write: (t) => (out += t), now: () => 0, logLimit: 20, spillDir: dir });
      r.sink({ type: 'step-start', id: 7, label: '[s 1/1] RUN chatty' });
      for (let i = 1; i <= 10; i++) r.sink({ type: 'step-output', id: 7, line: `line-${String(i).padStart(2, '0')}`, stream: 'stdout' });
      r.sink({ type: 'step-done', id: 7, seconds: 1 });
      r.finish({ failed: false });
      const path = join(dir, 'step-7.log');
      assert.deepEqual(out.split('\n'), [
        '#7 [s 1/1] RUN chatty',
        '#7 0.000 line-01',
        '#7 0.000 line-02',
        `#7 [output beyond 20B: the rest of this step's output is in ${path}]`,
        '#7 DONE 1.0s',
        '',
      ]);
      const rest = (await readFile(path, 'utf8')).trimEnd().split('\n');
      assert.deepEqual(rest, ['03', '04', '05', '06', '07', '08', '09', '10'].map((n) => `0.000 line-${n}`));
    });
  });
});

describe('json renderer', () => {
  const schema = JSON.parse(readFileSync(join(projectRoot, 'docs/progress.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true }).compile(schema);

  it('writes one event per line, each valid against docs/progress.schema.json', () => {
    const c = clock();
    let out = '';
    const r = jsonRenderer((t) => (out += t), c.now);
    const events = story(() => undefined, true).concat([[1800, { type: 'error', message: 'RUN failed: boom', location: { file: 'Dockerfile', line: 3, column: 1 }, exitCode: 1 }]]);
    for (const [t, e] of events) {
      c.at(t);
      r.sink(e);
    }
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, events.length);
    for (const [i, line] of lines.entries()) {
      const value = JSON.parse(line) as { time: number; type: string };
      assert.ok(validate(value), `${line}\n${JSON.stringify(validate.errors)}`);
      assert.equal(value.type, events[i]?.[1].type);
      assert.equal(value.time, Math.round(events[i]?.[0] ?? 0) / 1000);
    }
  });

  it('rejects what the schema does not document', () => {
    assert.ok(!validate({ time: 0, type: 'step-done', id: 1 }), 'seconds is required');
    assert.ok(!validate({ time: 0, type: 'step-done', id: 1, seconds: 1, extra: true }), 'no undocumented fields');
    assert.ok(!validate({ time: 0, type: 'party' }), 'no undocumented types');
  });

  it('the examples in docs/progress.md are valid, and cover every type the schema lists', () => {
    const doc = readFileSync(join(projectRoot, 'docs/progress.md'), 'utf8');
    const block = /```json\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const examples = block.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    for (const e of examples) assert.ok(validate(e), `${JSON.stringify(e)}\n${JSON.stringify(validate.errors)}`);
    const documented = new Set(examples.map((e) => e.type));
    for (const type of ['plan', 'step-cached', 'step-start', 'step-output', 'step-done', 'step-error', 'transfer', 'transfer-done', 'info', 'result', 'error']) {
      assert.ok(documented.has(type), `no example of ${type}`);
    }
  });
});

/** A terminal as the tty renderer sees it: a size, resize events, and what was written. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly chunks: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
}

const plainColour = new Chalk({ level: 0 });

describe('tty renderer', () => {
  /** Plays the story into a tty renderer drawing after every event; returns the terminal. */
  function render(columns: number, rows: number, failing = false, resize?: { afterEvent: number; columns: number }): { term: FakeTerminal; resizedAt?: number } {
    const c = clock();
    const term = new FakeTerminal(columns, rows);
    const r = ttyRenderer({ stream: term, colour: plainColour, now: c.now, interval: 0 });
    let resizedAt: number | undefined;
    for (const [i, [t, e]] of story(() => undefined, failing).entries()) {
      c.at(t);
      r.sink(e);
      if (resize && i === resize.afterEvent) {
        term.columns = resize.columns;
        resizedAt = term.chunks.length;
        term.emit('resize');
      }
    }
    c.at(2000);
    r.finish({ failed: failing });
    return { term, ...(resizedAt !== undefined && { resizedAt }) };
  }

  const count = (lines: readonly string[], re: RegExp): number => lines.filter((l) => re.test(l)).length;

  it('redraws in place: the final screen has one header, each step once, then the summary', async () => {
    const { term } = render(80, 24);
    const screen = await playScreen(term.chunks, { cols: 80, rows: 24 });
    assert.equal(count(screen.lines, /\[\+\] Building/), 1, screen.lines.join('\n'));
    assert.match(screen.lines.find((l) => l.includes('[+]')) ?? '', /^\[\+\] Building 2\.0s \(3\/3\) FINISHED$/);
    assert.equal(count(screen.lines, /=> CACHED \[stage-0 1\/2\] WORKDIR \/app +0\.0s$/), 1);
    assert.equal(count(screen.lines, /=> \[stage-0 2\/2\] RUN make +0\.6s$/), 1);
    assert.equal(count(screen.lines, /=> \[tools 1\/1\] RUN fetch +0\.5s$/), 1);
    assert.equal(count(screen.lines, /=> pulled sha256:abababababab 2\.4MB/), 1);
    assert.equal(count(screen.lines, /=> => #/), 0, 'output lines of finished steps are collapsed');
    assert.equal(screen.lines.at(-2), `built ${DIGEST.slice(0, 19)} in 1.9s: 4 layers, 1.23MB, 1 of 3 steps cached`);
    assert.equal(screen.lines.at(-1), 'named docker.io/library/app:1');
    const info = screen.lines.findIndex((l) => l.startsWith('writing image sha256:cdcd'));
    assert.ok(info >= 0 && info < screen.lines.findIndex((l) => l.startsWith('[+]')), 'info lines stay, above the frame');
  });

  it('shows the last output lines of running steps while they run', async () => {
    const c = clock();
    const term = new FakeTerminal(80, 24);
    const r = ttyRenderer({ stream: term, colour: plainColour, now: c.now, interval: 0 });
    for (const [t, e] of story(() => undefined, false).slice(0, 7)) {
      c.at(t);
      r.sink(e);
    }
    const screen = await playScreen(term.chunks, { cols: 80, rows: 24 });
    assert.deepEqual(screen.lines, [
      '[+] Building 1.5s (1/3)',
      ' => CACHED [stage-0 1/2] WORKDIR /app                                      0.0s',
      ' => [stage-0 2/2] RUN make                                                 0.5s',
      ' => => # cc main.c',
      ' => => # ld app',
      ' => [tools 1/1] RUN fetch                                                  0.3s',
      ' => => # fetching',
    ]);
    r.finish({ failed: false });
  });

  it('on failure, shows the failed step with its output and exit code under the final frame', async () => {
    const { term } = render(80, 24, true);
    const screen = await playScreen(term.chunks, { cols: 80, rows: 24 });
    assert.match(screen.lines.find((l) => l.includes('[+]')) ?? '', /\(3\/3\) ERROR$/);
    assert.equal(count(screen.lines, /=> ERROR \[tools 1\/1\] RUN fetch/), 1);
    assert.deepEqual(screen.lines.slice(-5), ['------', ' > [tools 1/1] RUN fetch:', 'fetching', 'exit code: 2', '------']);
  });

  it('fits a narrow terminal: no line wraps, labels are cut with …', async () => {
    const { term } = render(24, 10);
    const screen = await playScreen(term.chunks, { cols: 24, rows: 10 });
    const header = screen.lines.findIndex((l) => l.startsWith('[+]'));
    const frame = screen.lines.slice(header, header + 5);
    assert.deepEqual(screen.wrapped.slice(header, header + 5), [false, false, false, false, false], screen.lines.join('\n'));
    assert.equal(count(screen.lines, /\[\+\]/), 1);
    assert.ok(frame.every((l) => l.length <= 23), frame.join('\n'));
    assert.match(frame[2] ?? '', /^ => \[stage-0 2\/2\]… 0\.6s$/);
  });

  it('redraws at once on resize, leaving no stale frame behind on a terminal that reflows', async () => {
    const { term, resizedAt } = render(80, 24, false, { afterEvent: 6, columns: 30 });
    assert.ok(resizedAt !== undefined);
    const screen = await playScreen(term.chunks, { cols: 80, rows: 24 }, new Map([[resizedAt, { cols: 30, rows: 24 }]]));
    assert.equal(count(screen.lines, /\[\+\] Building/), 1, screen.lines.join('\n'));
    assert.equal(count(screen.lines, /\[stage-0 2\/2\]/), 1, screen.lines.join('\n'));
    assert.equal(count(screen.lines, /\[tools 1\/1\]/), 1, screen.lines.join('\n'));
    assert.equal(count(screen.lines, /=> => #/), 0, screen.lines.join('\n'));
  });

  it('keeps a running frame within the terminal height: finished steps fold first, then output lines', () => {
    const state = new BuildState(() => 0);
    state.apply({ type: 'plan', steps: 30 });
    for (let id = 1; id <= 20; id++) state.apply({ type: 'step-cached', id, label: `[s ${id}/30] COPY f${id} /` });
    for (let id = 21; id <= 24; id++) {
      state.apply({ type: 'step-start', id, label: `[s ${id}/30] RUN job ${id}` });
      for (let n = 0; n < 8; n++) state.apply({ type: 'step-output', id, line: `job ${id} line ${n}`, stream: 'stdout' });
    }
    const frame = drawFrame(state, { now: 1000, started: 0, width: 60, height: 12, colour: plainColour });
    const text = frame.map((l) => l.text);
    assert.ok(frame.length <= 11, text.join('\n'));
    assert.equal(text[0], '[+] Building 1.0s (20/30)');
    assert.equal(text[1], ' => … 20 more');
    assert.equal(text.filter((l) => /RUN job/.test(l)).length, 4, 'every running step stays');
    const final = drawFrame(state, { now: 1000, started: 0, width: 60, height: 12, colour: plainColour, final: { failed: false } });
    assert.equal(final.length, 25, 'the final frame shows every step');
  });

  it('colours with chalk unless NO_COLOR is set; FORCE_COLOR wins', async () => {
    const run = async (env: NodeJS.ProcessEnv): Promise<boolean> => {
      const term = new FakeTerminal(80, 24);
      const r = await createRenderer('tty', { stream: term as unknown as NodeJS.WriteStream, env });
      for (const [, e] of story(() => undefined, false)) r.sink(e);
      r.finish({ failed: false });
      return (await playScreen(term.chunks, { cols: 80, rows: 24 })).coloured;
    };
    assert.equal(await run({ FORCE_COLOR: '1' }), true);
    assert.equal(await run({ FORCE_COLOR: '1', NO_COLOR: '1' }), true);
    assert.equal(await run({ NO_COLOR: '1' }), false);
    assert.equal(await run({ FORCE_COLOR: '0' }), false);
  });
});

describe('auto mode', () => {
  it('is tty on a terminal and plain elsewhere', async () => {
    const tty = new FakeTerminal(80, 24);
    const r1 = await createRenderer('auto', { stream: tty as unknown as NodeJS.WriteStream, env: { NO_COLOR: '1' } });
    r1.sink({ type: 'step-start', id: 1, label: '[s 1/1] RUN x' });
    r1.finish({ failed: false });
    assert.match(tty.chunks.join(''), /\[\+\] Building/);
    const pipe = Object.assign(new FakeTerminal(80, 24), { isTTY: false });
    const r2 = await createRenderer('auto', { stream: pipe as unknown as NodeJS.WriteStream, env: {} });
    r2.sink({ type: 'step-start', id: 1, label: '[s 1/1] RUN x' });
    r2.finish({ failed: false });
    assert.equal(pipe.chunks.join(''), '#1 [s 1/1] RUN x\n');
  });
});

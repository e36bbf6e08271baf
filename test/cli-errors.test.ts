import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { EXIT_INTERNAL, EXIT_USER, excerpt, reportError, reportSettings } from '../src/cli/error-report.ts';
import { UserError } from '../src/errors.ts';
import type { ProgressEvent } from '../src/progress/events.ts';

describe('error report', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-errors-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN one\nRUN two\nRUN three\nRUN four\nRUN five\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));
  afterEach(() => {
    reportSettings.sources.clear();
    reportSettings.texts.clear();
    delete reportSettings.baseDir;
    delete reportSettings.json;
  });

  const report = (e: unknown, debug = false): { code: number; text: string } => {
    let text = '';
    const code = reportError(e, { debug, write: (t) => (text += t) });
    return { code, text };
  };

  it('a located user error: the lines around it as BuildKit shows them, then the one error line; exit 1', () => {
    reportSettings.baseDir = dir;
    const { code, text } = report(new UserError('RUN failed: "/bin/sh -c three" exited with code 2', { file: 'Dockerfile', line: 4, column: 1 }));
    assert.equal(code, EXIT_USER);
    assert.equal(
      text,
      [
        'Dockerfile:4',
        '--------------------',
        '  2 |     RUN one',
        '  3 |     RUN two',
        '  4 | >>> RUN three',
        '  5 |     RUN four',
        '  6 |     RUN five',
        '--------------------',
        'error: Dockerfile:4:1: RUN failed: "/bin/sh -c three" exited with code 2',
        '',
      ].join('\n'),
    );
  });

  it('an error with its own excerpt and hint keeps them, after the error line', () => {
    const e = new UserError('unknown instruction: COPPY', { file: 'Dockerfile', line: 2, column: 1 }, { sourceLine: 'COPPY a b', width: 5, hint: 'did you mean COPY?' });
    assert.equal(report(e).text, ['error: Dockerfile:2:1: unknown instruction: COPPY', '  2 | COPPY a b', '    | ^^^^^', 'hint: did you mean COPY?', ''].join('\n'));
  });

  it('a file that is gone (stdin) is shown from the text kept for it; one that cannot be read shows no excerpt', () => {
    reportSettings.texts.set('Dockerfile', 'FROM scratch\nCOPY x /\n');
    assert.deepEqual(excerpt({ file: 'Dockerfile', line: 2, column: 1 }).slice(2, 4), ['  1 |     FROM scratch', '  2 | >>> COPY x /']);
    reportSettings.texts.clear();
    assert.deepEqual(excerpt({ file: join(dir, 'nope'), line: 1, column: 1 }), []);
  });

  it('an internal error says so, with a hint, exit 2; --debug adds the stack', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'digest')");
    const plain = report(bug);
    assert.equal(plain.code, EXIT_INTERNAL);
    assert.match(plain.text, /^error: internal error: Cannot read properties of undefined \(reading 'digest'\)\nhint: this is a bug in tsbuild; .*--debug\n$/);
    assert.doesNotMatch(plain.text, /\n\s+at /);
    assert.match(report(bug, true).text, /\n\s+at /);
  });

  it('in json mode the error is an event, with its location and hint, and nothing is written', () => {
    const events: ProgressEvent[] = [];
    reportSettings.json = (e) => events.push(e);
    const { code, text } = report(new UserError('bad', { file: 'Dockerfile', line: 1, column: 6 }, { hint: 'try again' }));
    assert.equal(code, 1);
    assert.equal(text, '');
    assert.deepEqual(events, [{ type: 'error', message: 'bad', location: { file: 'Dockerfile', line: 1, column: 6 }, hint: 'try again', exitCode: 1 }]);
  });
});

/**
 * What a user sees when the parser rejects a Dockerfile: `FILE:LINE:COL:
 * message` from `format()`, then from `explain()` the source line, a caret
 * under the culprit and a hint where one exists. Never a stack trace.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../errors.ts';
import { parseDockerfile } from './parse.ts';

function rejection(text: string, file = 'Dockerfile'): UserError {
  try {
    parseDockerfile(text, file);
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the parser to reject the text');
}

/** format() then explain(), as the CLI prints them. */
const shown = (e: UserError): string[] => [e.format(), ...e.explain()];

describe('error display', () => {
  it('a misspelled instruction: location, line, caret and "did you mean"', () => {
    assert.deepEqual(shown(rejection('FROM alpine\nCOPPY a b\n', 'app/Dockerfile')), [
      'app/Dockerfile:2:1: unknown instruction: COPPY',
      '  2 | COPPY a b',
      '    | ^^^^^',
      'hint: did you mean COPY?',
    ]);
    assert.equal(rejection('from a\nrnu x').explain().at(-1), 'hint: did you mean run?');
  });

  it('an instruction nothing resembles lists the instructions', () => {
    assert.match(rejection('FROM a\nFROBNICATE now').explain().at(-1) ?? '', /^hint: instructions are FROM, RUN, CMD/);
  });

  it('an unknown flag: the close one and the valid ones', () => {
    assert.deepEqual(shown(rejection('FROM a\nCOPY --form=build /a /b')), [
      'Dockerfile:2:6: unknown flag: --form',
      '  2 | COPY --form=build /a /b',
      '    |      ^^^^^^^^^^^^',
      'hint: did you mean --from? (COPY takes --from, --chown, --chmod, --link, --parents, --exclude)',
    ]);
    assert.equal(rejection('CMD --x y').explain().at(-1), 'hint: CMD takes no flags');
  });

  it('a bad flag value: the caret under the value', () => {
    assert.deepEqual(shown(rejection('FROM a\nRUN --mount=type=cahce,target=/c make')), [
      'Dockerfile:2:13: unsupported mount type "cahce"',
      '  2 | RUN --mount=type=cahce,target=/c make',
      '    |             ^^^^^^^^^^^^^^^^^^^^',
      'hint: did you mean cache? (mount types: bind, cache, tmpfs, secret, ssh)',
    ]);
    assert.deepEqual(rejection('HEALTHCHECK --interval=5 CMD true').explain(), [
      '  1 | HEALTHCHECK --interval=5 CMD true',
      '    |                        ^',
      'hint: durations look like 30s, 1m30s or 500ms; 0 means the default',
    ]);
  });

  it('keeps tabs in the caret line so the caret lines up', () => {
    assert.deepEqual(rejection('FROM a\n\tFOO x').explain().slice(0, 2), ['  2 | \tFOO x', '    | \t^^^']);
  });

  it('points into continuation lines', () => {
    const e = rejection('FROM a\nRUN --network=none \\\n    --security=maybe true');
    assert.equal(e.format(), 'Dockerfile:3:16: security "maybe" is not valid');
    assert.deepEqual(e.explain(), ['  3 |     --security=maybe true', '    |                ^^^^^', 'hint: one of sandbox, insecure']);
  });

  it('shows a window of a very long line', () => {
    const e = rejection(`FROM a\nRUN --bad ${'x'.repeat(1000)}`);
    const [line, caret] = e.explain();
    assert.ok((line?.length ?? 0) < 140);
    assert.equal(caret?.indexOf('^'), line?.indexOf('--bad'));
  });

  it('parse-level errors explain too', () => {
    assert.deepEqual(shown(rejection('FROM a\nRUN cat <<EOF\nnever ends')), [
      'Dockerfile:2:9: unterminated heredoc: no line "EOF" ends it',
      '  2 | RUN cat <<EOF',
      '    |         ^^^^^',
      'hint: the body must end with a line holding just EOF',
    ]);
    assert.equal(rejection('CMD ["a", 1]').explain().at(-1), 'hint: quote every element: ["cmd", "arg"]');
  });

  it('never carries a stack trace in what is shown', () => {
    for (const text of ['', 'FOO', 'COPY a', 'ENV a', 'RUN --mount=type=x y', '# escape=x\nFROM a']) {
      for (const line of shown(rejection(text))) assert.doesNotMatch(line, /^\s+at /);
    }
  });

  it('an error without detail explains nothing', () => {
    assert.deepEqual(new UserError('plain').explain(), []);
    assert.deepEqual(new UserError('hinted', undefined, { hint: 'try this' }).explain(), ['hint: try this']);
  });
});

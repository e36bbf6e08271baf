/**
 * The parser against hostile input: a few thousand property-based cases
 * (`npm run fuzz` runs 100,000+), then huge inputs that must parse or fail
 * cleanly. Hangs are caught by the per-test timeouts; no wall time is
 * asserted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../errors.ts';
import { checkParser, dockerfileInputs, seedDockerfiles } from './fuzz.ts';
import { parseDockerfile } from './parse.ts';

/** Parses or rejects with a UserError; returns the instruction count, or the error. */
function parseOrReject(text: string): number | UserError {
  try {
    return parseDockerfile(text, 'big').instructions.length;
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
}

const MB10 = 10 * 1024 * 1024;

describe('fuzzing', () => {
  it('3,000 mutated, token-soup, Unicode and byte inputs parse or fail with a UserError', { timeout: 120_000 }, () => {
    fc.assert(fc.property(dockerfileInputs(seedDockerfiles()), checkParser), { numRuns: 3000, seed: 20260101 });
  });

  it('also with a fresh seed each run', { timeout: 120_000 }, (t) => {
    const seed = Date.now() % 2 ** 31;
    t.diagnostic(`fast-check seed ${seed}`);
    fc.assert(fc.property(dockerfileInputs(seedDockerfiles()), checkParser), { numRuns: 1000, seed });
  });
});

describe('huge inputs', () => {
  const lines: Array<[string, string, number | 'error']> = [
    ['a 10 MB RUN script', `FROM a\nRUN echo ${'x'.repeat(MB10)}\n`, 2],
    ['a 10 MB line of blanks', `FROM a\n${' '.repeat(MB10)}\nRUN x`, 2],
    ['a 10 MB directive line', `# syntax=a${' '.repeat(MB10)}b\nFROM a`, 1],
    ['a 10 MB heredoc-looking word', `FROM a\nRUN <<${' '.repeat(MB10)}<x\n`, 2],
    ['a 10 MB unterminated quote before a heredoc', `FROM a\nRUN "${'q'.repeat(MB10)} <<EOF\n`, 2],
    ['a 10 MB nested ${ in a heredoc line', `FROM a\nRUN <<EOF ${'${a:-'.repeat(MB10 / 5)}\nEOF\n`, 'error'],
    ['a 10 MB JSON array', `FROM a\nCMD [${'"a",'.repeat(MB10 / 4)}"z"]\n`, 2],
    ['a 10 MB keyword', `FROM a\n${'K'.repeat(MB10)} x\n`, 'error'],
    ['a 10 MB flag', `FROM a\nCOPY --${'f'.repeat(MB10)}=1 a b\n`, 'error'],
    ['a 2 MB run of 500,000 continuation lines', `FROM a\nRUN ${'a \\\n'.repeat(500_000)}b\n`, 2],
  ];
  for (const [name, text, expected] of lines) {
    it(`${name} parses or fails cleanly`, { timeout: 120_000 }, () => {
      const result = parseOrReject(text);
      if (expected === 'error') assert.ok(result instanceof UserError, `expected a UserError, got ${String(result)}`);
      else assert.equal(result, expected);
      if (result instanceof UserError) assert.ok(result.explain().every((line) => line.length < 300));
    });
  }

  it('100,000 instructions parse', { timeout: 120_000 }, () => {
    const text = `FROM alpine\n${'RUN echo hi \\\n  && true\nENV A=1 B="2 3"\nCOPY --chown=1:1 a b /c/\n'.repeat(100_000 / 3)}`;
    assert.equal(parseOrReject(text), 1 + 3 * Math.floor(100_000 / 3));
  });

  it('20,000 heredocs parse', { timeout: 120_000 }, () => {
    const text = `FROM alpine\n${'RUN <<EOF\necho hi\nEOF\n'.repeat(20_000)}`;
    assert.equal(parseOrReject(text), 20_001);
  });
});

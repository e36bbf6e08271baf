/**
 * Expansion tests driven by BuildKit's shell-lexer vectors (copied, with
 * their license, under fixtures/shell/; format in the conformance README).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { UserError } from '../errors.ts';
import { expandWord, expandWords, expandWordWithMatches } from './expand.ts';
import { isSpaceCode } from './space.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/shell/${name}`, import.meta.url), 'utf8');

function expectUserError(fn: () => unknown, contains?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && (contains === undefined || e.message.includes(contains)));
}

/** Counts the vectors of one file as they run; `report` adds the test that prints the count. */
function vectorCounter(file: string): { ran: () => void; report: () => void } {
  let count = 0;
  return {
    ran: () => {
      count++;
    },
    report: () =>
      it(`${file}: vectors ran`, (t) => {
        t.diagnostic(`${file}: ${count} vectors ran`);
        assert.ok(count > 0);
      }),
  };
}

describe('envVarTest (single word, Linux: A and U lines)', () => {
  const counter = vectorCounter('envVarTest');
  const env = new Map([
    ['PWD', '/home'],
    ['SHELL', 'bash'],
    ['KOREAN', '한국어'],
    ['NULL', ''],
  ]);
  for (const line of fixture('envVarTest').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split('|').map((f) => f.trim());
    assert.equal(fields.length, 3, `bad vector line: ${line}`);
    const [platform, input = '', expected = ''] = fields;
    if (platform === 'W') continue;
    it(`${input} → ${expected}`, () => {
      if (expected === 'error') expectUserError(() => expandWord(input, env));
      else assert.equal(expandWord(input, env), expected);
      counter.ran();
    });
  }
  counter.report();
});

describe('wordsTest (expansion with word splitting)', () => {
  const counter = vectorCounter('wordsTest');
  const env = new Map<string, string>();
  for (const line of fixture('wordsTest').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    if (line.startsWith('ENV ')) {
      const definition = line.slice('ENV '.length);
      const eq = definition.indexOf('=');
      env.set(definition.slice(0, eq), definition.slice(eq + 1));
      continue;
    }
    const fields = line.split('|');
    assert.equal(fields.length, 2, `bad vector line: ${line}`);
    const input = (fields[0] ?? '').trim();
    const expected = (fields[1] ?? '').trimStart();
    const snapshot = new Map(env);
    it(`${input} → ${expected}`, () => {
      if (expected === 'error') expectUserError(() => expandWords(input, snapshot));
      else assert.deepEqual(expandWords(input, snapshot), expected.split(','));
      counter.ran();
    });
  }
  counter.report();
});

interface ExpansionCase {
  input: string;
  envs: Record<string, string>;
  expected?: string;
  error?: boolean;
  errorContains?: string;
  matches?: string[];
  unmatched?: string[];
}

describe('expansion-cases.json', () => {
  const counter = vectorCounter('expansion-cases.json');
  const groups = JSON.parse(fixture('expansion-cases.json')) as Record<string, unknown>;
  for (const group of ['processWithMatches', 'platform', 'mandatory']) {
    const cases = groups[group] as ExpansionCase[];
    for (const c of cases) {
      it(`${group}: ${c.input} with ${JSON.stringify(c.envs)}`, () => {
        const env = new Map(Object.entries(c.envs));
        if (c.error) {
          expectUserError(() => expandWord(c.input, env), c.errorContains);
        } else {
          const result = expandWordWithMatches(c.input, env);
          assert.equal(result.value, c.expected);
          if (c.matches) assert.deepEqual([...result.matched].sort(), [...c.matches].sort());
          if (c.unmatched) assert.deepEqual([...result.unmatched].sort(), [...c.unmatched].sort());
        }
        counter.ran();
      });
    }
  }
  counter.report();
});

describe('escape char and extra cases', () => {
  const env = new Map([['A', 'x y']]);
  it('backtick escape', () => {
    assert.equal(expandWord('a`$A`\\b', env, '`'), 'a$A\\b');
    assert.equal(expandWord('"`"q"', env, '`'), '"q');
  });
  it('${#v} and ${!v} are unsupported', () => {
    expectUserError(() => expandWord('${#A}', env), 'unsupported modifier');
    expectUserError(() => expandWord('${!A}', env), 'unsupported modifier');
  });
  it('unquoted variable values split, quoted do not', () => {
    assert.deepEqual(expandWords('$A "$A"', env), ['x', 'y', 'x y']);
  });
  it('replacement with an empty pattern inserts between characters', () => {
    assert.equal(expandWord('${A//""/-}', new Map([['A', 'ab']])), '-a-b-');
  });
});

describe('lexing options (what the parser uses to find heredoc delimiters)', () => {
  const env = new Map([['SET', 'v']]);
  it('rawQuotes keeps the quotes', () => {
    assert.deepEqual(expandWords(`a 'b c' "d"`, env, '\\', { rawQuotes: true }), ['a', "'b c'", '"d"']);
  });
  it('rawEscapes keeps the escape chars, in and out of double quotes', () => {
    assert.equal(expandWord('a\\ b "\\$x\\q"', env, '\\', { rawEscapes: true }), 'a\\ b \\$x\\q');
  });
  it('keepUnset leaves unset references as written and expands set ones', () => {
    const keep = { keepUnset: true };
    assert.equal(expandWord('$U ${U} ${U:-d} ${U/a/b} $1 $SET', env, '\\', keep), '$U ${U} ${U:-d} ${U/a/b} $1 v');
    assert.equal(expandWord('${U:=x}', env, '\\', keep), '${U:=x}');
  });
  it('glues the blanks after << to the word, so a heredoc delimiter stays whole', () => {
    assert.deepEqual(expandWords('cat <<  EOF > f', env), ['cat', '<<  EOF', '>', 'f']);
    assert.deepEqual(expandWords('a < b', env), ['a', '<', 'b']);
  });
  it('refuses substitutions nested too deep instead of overflowing the stack', () => {
    expectUserError(() => expandWord(`${'${A:-'.repeat(5000)}x${'}'.repeat(5000)}`, env), 'nested more than');
  });
  it('walks code points: a character outside the BMP is one character', () => {
    assert.equal(expandWord('${E/?/x}', new Map([['E', '😀']])), 'x');
  });
  it('knows Go\'s whitespace', () => {
    assert.deepEqual([0x20, 0x09, 0x0b, 0x85, 0xa0, 0x2003, 0x3000].map(isSpaceCode), [true, true, true, true, true, true, true]);
    assert.deepEqual([0x41, 0xfeff, 0x200b].map(isSpaceCode), [false, false, false]);
  });
});

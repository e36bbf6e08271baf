/**
 * Expansion tests driven by BuildKit's shell-lexer vectors (copied, with
 * their license, under fixtures/shell/; format in the conformance README).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { UserError } from '../errors.ts';
import { expandWord, expandWords, expandWordWithMatches } from './expand.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/shell/${name}`, import.meta.url), 'utf8');

function expectUserError(fn: () => unknown, contains?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && (contains === undefined || e.message.includes(contains)));
}

describe('envVarTest (single word, Linux: A and U lines)', () => {
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
    });
  }
});

describe('wordsTest (expansion with word splitting)', () => {
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
    });
  }
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
  const groups = JSON.parse(fixture('expansion-cases.json')) as Record<string, unknown>;
  for (const group of ['processWithMatches', 'platform', 'mandatory']) {
    const cases = groups[group] as ExpansionCase[];
    for (const c of cases) {
      it(`${group}: ${c.input} with ${JSON.stringify(c.envs)}`, () => {
        const env = new Map(Object.entries(c.envs));
        if (c.error) {
          expectUserError(() => expandWord(c.input, env), c.errorContains);
          return;
        }
        const result = expandWordWithMatches(c.input, env);
        assert.equal(result.value, c.expected);
        if (c.matches) assert.deepEqual([...result.matched].sort(), [...c.matches].sort());
        if (c.unmatched) assert.deepEqual([...result.unmatched].sort(), [...c.unmatched].sort());
      });
    }
  }
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

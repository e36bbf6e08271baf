/**
 * `.dockerignore` conformance: every row of moby/patternmatcher's tables
 * (copied under fixtures/dockerignore/), read at test time, plus Go's
 * filepath.Match rows run against goMatch directly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { UserError } from '../errors.ts';
import { BadPatternError, goMatch } from './go-match.ts';
import { goClean } from './go-path.ts';
import { compileIgnoreLines, parseIgnoreFile } from './ignore-file.ts';
import { compilePattern, PatternMatcher } from './pattern-matcher.ts';

const fixtures = new URL('../../fixtures/dockerignore/', import.meta.url);
const readFixture = (path: string): string => readFileSync(new URL(path, fixtures), 'utf8');

interface Case {
  line: number;
  group: string;
  fn: string;
  expected: 'true' | 'false' | 'error';
  path: string;
  note: string;
  patterns: string[];
}

function tsvRows(name: string): { line: number; cells: string[] }[] {
  return readFixture(name)
    .split('\n')
    .map((text, i) => ({ line: i + 1, cells: text.split('\t') }))
    .filter((r) => r.cells.join('') !== '' && !(r.cells[0] as string).startsWith('#'));
}

const cases: Case[] = tsvRows('cases.tsv').map(({ line, cells }) => {
  const [group, fn, os, expected, path, note, ...patterns] = cells as [string, string, string, Case['expected'], string, string, ...string[]];
  assert.ok(os === 'all' || os === 'unix', `cases.tsv:${line}: os ${os}`);
  return { line, group, fn, expected, path, note, patterns };
});

/** The answer for one row, or 'error'; `Matches` rows clean the path first and never match `.`. */
function answer(c: Case): string {
  try {
    const m = new PatternMatcher(c.patterns);
    if (c.fn === 'Matches') {
      const path = goClean(c.path);
      if (path === '.') return 'false';
      return String(m.matchesOrParentMatches(path));
    }
    const direct = m.matchesOrParentMatches(c.path);
    // the incremental form a walk uses must agree, fed its parents' results in order
    let info;
    const parts = c.path.split('/');
    for (let i = 1; i < parts.length; i++) info = m.matchesUsingParentResults(parts.slice(0, i).join('/'), info).info;
    const walked = m.matchesUsingParentResults(c.path, info).excluded;
    assert.equal(walked, direct, `cases.tsv:${c.line}: MatchesUsingParentResults disagrees`);
    return String(direct);
  } catch (e) {
    if (e instanceof BadPatternError) return 'error';
    throw e;
  }
}

describe('dockerignore conformance: cases.tsv', () => {
  it('has all 138 rows', () => assert.equal(cases.length, 138));
  it('covers every group', () => assert.deepEqual([...new Set(cases.map((c) => c.group))].sort(), ['basic', 'filepath-match', 'matches', 'matches-multi', 'regression']));
  for (const c of cases) {
    it(`${c.line}: ${c.group} ${JSON.stringify(c.path)} ${JSON.stringify(c.patterns)} → ${c.expected}`, () => {
      assert.equal(answer(c), c.expected, c.note);
    });
  }
  it('keeps failing, without crashing, for a pattern whose regexp is invalid (moby/moby#52203)', () => {
    const m = new PatternMatcher(['[Local-Only]/']);
    for (let i = 0; i < 3; i++) assert.throws(() => m.matchesOrParentMatches('x'), BadPatternError);
  });
});

describe('dockerignore conformance: compile.tsv', () => {
  const rows = tsvRows('compile.tsv');
  it('has all 21 rows', () => assert.equal(rows.length, 21));
  for (const { line, cells } of rows) {
    const [pattern, matchType, slashRegexp] = cells as [string, string, string];
    it(`${line}: ${pattern} → ${matchType} ${slashRegexp}`, () => {
      const compiled = compilePattern(pattern);
      assert.equal(compiled.matchType, matchType);
      assert.equal(compiled.goRegexp ?? '', slashRegexp);
    });
  }
});

describe('dockerignore conformance: readall', () => {
  it('parses input.dockerignore into expected.txt', () => {
    const expected = readFixture('readall/expected.txt').split('\n').filter((l) => l !== '');
    assert.deepEqual(parseIgnoreFile(readFixture('readall/input.dockerignore')).map((l) => l.pattern), expected);
  });
  it('keeps line numbers, skips a BOM and CRLF endings', () => {
    assert.deepEqual(parseIgnoreFile('\ufeff# c\r\n\r\n /a/ \r\n!  b\n'), [
      { pattern: 'a', line: 3 },
      { pattern: '!b', line: 4 },
    ]);
  });
});

describe('goMatch (filepath.Match)', () => {
  it('never lets * or ? cross a separator, but a class may', () => {
    assert.equal(goMatch('a*', 'ab/c'), false);
    assert.equal(goMatch('a?c', 'a/c'), false);
    assert.equal(goMatch('a[^x]c', 'a/c'), true);
  });
  it('works on UTF-8 bytes like Go: a star can stop inside a character', () => {
    assert.equal(goMatch('*??b', '☺b'), true);
    assert.equal(goMatch('?b', '☺b'), true);
    assert.equal(goMatch('??b', '☺b'), false);
  });
  it('reports a malformed pattern even when the name fails to match first', () => {
    assert.throws(() => goMatch('x[', 'a'), BadPatternError);
    assert.throws(() => goMatch('a*[', 'bbb'), BadPatternError);
  });
});

describe('Go regexp semantics inside patterns', () => {
  const excluded = (pattern: string, path: string): boolean => new PatternMatcher([pattern]).matchesOrParentMatches(path);
  it('understands POSIX and Perl classes the way Go does', () => {
    assert.equal(excluded('file[[:digit:]]*', 'file7.txt'), true);
    assert.equal(excluded('file[[:digit:]]*', 'filex.txt'), false);
    assert.equal(excluded('a\\d*', 'a1'), true);
  });
  it('does not let . match a newline, as Go', () => {
    assert.equal(excluded('**/x', 'a\nb/x'), true);
    assert.equal(excluded('a**/*.txt', 'a\nb/c.txt'), false);
  });
});

describe('ignore file errors', () => {
  it('names the file and line of a bad pattern', () => {
    assert.throws(
      () => compileIgnoreLines(parseIgnoreFile('ok\n# c\n[\n'), '/ctx/.dockerignore', '.dockerignore'),
      (e: unknown) => e instanceof UserError && e.format() === '.dockerignore:3:1: bad pattern "[": syntax error in pattern',
    );
    assert.throws(
      () => compileIgnoreLines(parseIgnoreFile('!\n'), '/ctx/.dockerignore', '.dockerignore'),
      (e: unknown) => e instanceof UserError && e.format() === '.dockerignore:1:1: bad pattern "!": illegal exclusion pattern',
    );
  });
});

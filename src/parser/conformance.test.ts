/**
 * BuildKit's parser conformance vectors (copied with their license under
 * fixtures/parser/conformance/; formats in /work/shared/conformance/README.md),
 * read from the files at test time, one assertion per vector. Each group
 * ends by reporting how many vectors ran.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { UserError } from '../errors.ts';
import { dumpSyntax } from './dump.ts';
import { chompHeredoc, heredocWordsInLine, parseHeredocWord } from './heredoc.ts';
import { parseDockerfile } from './parse.ts';
import { parseSyntax } from './syntax.ts';

const root = new URL('../../fixtures/parser/conformance/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

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

describe('testfiles: dump of the generic layer', () => {
  const counter = vectorCounter('testfiles');
  for (const name of readdirSync(new URL('testfiles/', root)).sort()) {
    it(name, () => {
      const tree = parseSyntax(read(`testfiles/${name}/Dockerfile`), 'Dockerfile');
      assert.equal(`${dumpSyntax(tree)}\n`, read(`testfiles/${name}/result`));
      counter.ran();
    });
  }
  counter.report();
});

describe('testfiles: the typed layer', () => {
  /**
   * Vectors with instructions BuildKit's instruction layer rejects too (its
   * parser dump runs before flags and arguments are checked).
   */
  const rejected: Record<string, { error: string; line: number }> = {
    flags: { error: 'unknown flag: --user', line: 3 },
    health: { error: 'HEALTHCHECK requires at least one argument', line: 4 },
  };
  for (const name of readdirSync(new URL('testfiles/', root)).sort()) {
    const text = read(`testfiles/${name}/Dockerfile`);
    const reject = rejected[name];
    if (!reject) {
      it(`${name} builds typed instructions`, () => {
        const df = parseDockerfile(text, 'Dockerfile');
        assert.equal(df.instructions.length, parseSyntax(text, 'Dockerfile').nodes.length);
      });
      continue;
    }
    it(`${name} is rejected at line ${reject.line}: ${reject.error}`, () => {
      assert.throws(
        () => parseDockerfile(text, 'Dockerfile'),
        (e: unknown) => e instanceof UserError && e.message === reject.error && e.location?.line === reject.line,
      );
    });
  }
});

describe('testfiles-negative', () => {
  const counter = vectorCounter('testfiles-negative');
  for (const name of readdirSync(new URL('testfiles-negative/', root)).sort()) {
    it(`${name} fails to parse`, () => {
      const text = read(`testfiles-negative/${name}/Dockerfile`);
      assert.throws(() => parseSyntax(text, 'Dockerfile'), UserError);
      assert.throws(() => parseDockerfile(text, 'Dockerfile'), UserError);
      counter.ran();
    });
  }
  counter.report();
});

describe('testfile-line', () => {
  const counter = vectorCounter('testfile-line');
  it('instruction ranges cover their continuation lines', () => {
    const df = parseDockerfile(read('testfile-line/Dockerfile'), 'Dockerfile');
    assert.deepEqual(df.instructions.map((i) => [i.range.start.line, i.range.end.line]), [[5, 5], [11, 12], [17, 31]]);
    assert.deepEqual(df.directives.map((d) => [d.name, d.value]), [['escape', '\\']]);
    counter.ran();
  });
  counter.report();
});

interface HeredocExpectation {
  instruction: string;
  heredocs: Array<{ name: string; content: string; expand: boolean; chomp: boolean; fileDescriptor: number }> | null;
}

for (const group of ['extract', 'json-no-heredoc']) {
  describe(`heredoc/${group}`, () => {
    const counter = vectorCounter(`heredoc/${group}/expected.json`);
    const tree = parseSyntax(read(`heredoc/${group}/Dockerfile`), 'Dockerfile');
    const { expected } = JSON.parse(read(`heredoc/${group}/expected.json`)) as { expected: HeredocExpectation[] };
    expected.forEach((want, i) => {
      it(`instruction ${i + 1}: ${want.instruction}`, () => {
        const node = tree.nodes[i + 1];
        assert.ok(node, 'missing instruction');
        assert.equal(node.original, want.instruction);
        const got = node.heredocs.map((h) => ({ name: h.name, content: h.rawContent, expand: h.expand, chomp: h.chomp, fileDescriptor: h.fd }));
        assert.deepEqual(got.length === 0 ? null : got, want.heredocs);
        counter.ran();
      });
    });
    counter.report();
  });
}

describe('heredoc/heredoc-words.json', () => {
  const counter = vectorCounter('heredoc/heredoc-words.json');
  const words = JSON.parse(read('heredoc/heredoc-words.json')) as {
    valid_name_EOF: string[];
    invalid_error: string[];
    not_heredoc: string[];
    from_line: Array<{ line: string; names: string[] | null }>;
    chomp: { input: string; output: string };
  };
  for (const word of words.valid_name_EOF) {
    it(`valid: ${word}`, () => {
      assert.equal(parseHeredocWord(word)?.name, 'EOF');
      counter.ran();
    });
  }
  for (const word of words.invalid_error) {
    it(`invalid: ${word}`, () => {
      assert.throws(() => parseHeredocWord(word), UserError);
      counter.ran();
    });
  }
  for (const word of words.not_heredoc) {
    it(`not a heredoc: ${JSON.stringify(word)}`, () => {
      assert.equal(parseHeredocWord(word), undefined);
      counter.ran();
    });
  }
  for (const { line, names } of words.from_line) {
    it(`from line: ${line}`, () => {
      const found = heredocWordsInLine(line).map((h) => h.name);
      assert.deepEqual(found.length === 0 ? null : found, names);
      counter.ran();
    });
  }
  it('chomp', () => {
    assert.equal(chompHeredoc(words.chomp.input), words.chomp.output);
    counter.ran();
  });
  counter.report();
});

/**
 * Property-based fuzzing of the parser with fast-check: mutated conformance
 * Dockerfiles, soups of Dockerfile tokens, random Unicode and random bytes.
 * The property: parsing returns or throws a UserError, nothing else, and
 * what it returns (or the error) can be printed. The suite runs a few
 * thousand cases (`fuzz.test.ts`); `npm run fuzz` runs many more
 * (`fuzz-main.ts`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { UserError } from '../errors.ts';
import type { Range } from './ast.ts';
import { dumpSyntax } from './dump.ts';
import { outlineDockerfile } from './outline.ts';
import { parseDockerfile } from './parse.ts';
import { parseSyntax } from './syntax.ts';

const fixtures = new URL('../../fixtures/parser/', import.meta.url);

/** Every Dockerfile of the conformance corpus and the parser fixtures: the seeds that mutations start from. */
export function seedDockerfiles(): string[] {
  const read = (url: URL): string => readFileSync(url, 'utf8');
  const conformance = new URL('conformance/', fixtures);
  const seeds: string[] = [];
  for (const group of ['testfiles', 'testfiles-negative']) {
    const dir = new URL(`${group}/`, conformance);
    for (const name of readdirSync(dir).sort()) seeds.push(read(new URL(`${name}/Dockerfile`, dir)));
  }
  for (const path of ['heredoc/extract/Dockerfile', 'heredoc/json-no-heredoc/Dockerfile', 'testfile-line/Dockerfile']) {
    seeds.push(read(new URL(path, conformance)));
  }
  for (const name of readdirSync(fixtures).filter((n) => n.endsWith('.Dockerfile')).sort()) seeds.push(read(new URL(name, fixtures)));
  return seeds;
}

/** Pieces that matter to the grammar: what mutations insert and token soups are made of. */
const TOKENS = [
  '\n', '\r\n', '\r', ' ', '\t', '\v', '\u00a0', '\uFEFF', '\ud800', '\\', '`', '\\\n', '`\n', '#', '# escape=`\n',
  '# syntax=x\n', '"', "'", '[', ']', '["a", "b"]', '[1]', ',', '=', '$', '${', '}', '${A:-', '${A/', '<<', '<<-',
  '<<EOF\n', '\nEOF\n', "<<'X'", '3<<', '--', '--mount=', 'type=cache,target=/x', '--from=', '--link=', '--interval=',
  '1m', 'FROM ', 'RUN ', 'CMD ', 'COPY ', 'ADD ', 'ENV ', 'ARG ', 'LABEL ', 'ONBUILD ', 'HEALTHCHECK ', 'SHELL ',
  'VOLUME ', 'EXPOSE ', 'USER ', 'WORKDIR ', 'STOPSIGNAL ', 'MAINTAINER ', 'NONE', 'AS ', 'a', 'b=c', '/dst',
];

type Mutation =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number };

function mutate(seed: string, mutations: readonly Mutation[]): string {
  let text = seed;
  for (const m of mutations) {
    const at = text.length === 0 ? 0 : m.at % (text.length + 1);
    if (m.kind === 'insert') text = text.slice(0, at) + m.text + text.slice(at);
    else if (m.kind === 'delete') text = text.slice(0, at) + text.slice(at + m.length);
    else text = text.slice(0, at) + text.slice(at, at + m.length) + text.slice(at);
  }
  return text;
}

/** Inputs of every kind, weighted towards mutated real Dockerfiles. */
export function dockerfileInputs(seeds: readonly string[]): fc.Arbitrary<string> {
  const token = fc.constantFrom(...TOKENS);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(token, fc.string({ unit: 'binary', maxLength: 8 })) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat({ max: 40 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.nat({ max: 120 }) }),
  );
  const mutated = fc
    .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 10 }))
    .map(([seed, mutations]) => mutate(seed, mutations));
  const soup = fc.array(fc.oneof(token, fc.string({ maxLength: 4 })), { maxLength: 80 }).map((parts) => parts.join(''));
  const bytes = fc.uint8Array({ maxLength: 400 }).map((b) => new TextDecoder().decode(b));
  const unicode = fc.string({ unit: 'binary', maxLength: 300 });
  return fc.oneof({ arbitrary: mutated, weight: 5 }, { arbitrary: soup, weight: 3 }, { arbitrary: bytes, weight: 1 }, { arbitrary: unicode, weight: 1 });
}

function checkRange(text: string, range: Range, what: string): void {
  const { start, end } = range;
  if (!(start.offset >= 0 && start.offset <= end.offset && end.offset <= text.length && start.line >= 1 && start.column >= 1)) {
    throw new Error(`bad range for ${what}: ${JSON.stringify(range)}`);
  }
}

/**
 * The property for one input: both layers parse it or reject it with a
 * UserError that can be shown; an accepted file can be dumped, outlined and
 * serialised, and its instruction ranges lie inside the text. Throws (an
 * ordinary Error) when the property does not hold.
 */
export function checkParser(text: string): void {
  try {
    dumpSyntax(parseSyntax(text, 'fuzz'));
    const df = parseDockerfile(text, 'fuzz');
    outlineDockerfile(df);
    JSON.stringify(df);
    for (const ins of df.instructions) {
      checkRange(text, ins.range, ins.kind);
      checkRange(text, ins.keyword.range, `${ins.kind} keyword`);
      for (const flag of ins.flags) checkRange(text, flag.range, `${ins.kind} flag`);
    }
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    e.format();
    e.explain();
  }
}

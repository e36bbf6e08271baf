// `npm run bench -- parse` (or `npm run bench:parse`): the Dockerfile parser
// against dockerfile-ast (the parser behind the Dockerfile language server),
// side by side in the same run. The corpus is every conformance Dockerfile
// tsbuild accepts, each parsed as its own file, repeated to at least 5 MB
// per round. Both produce a full AST with positions: for dockerfile-ast the
// lazy parts (ranges, arguments, flags) are forced.
//
// Each parser runs in its own fresh node process, loading this file bundled
// by esbuild (as the CLI ships: no TypeScript loader, both parsers' code
// loaded in both processes): one warm-up round, then timed rounds (median
// reported). Peak memory is the child's max RSS, and its growth over the
// resident size once loaded (after a GC, before the first parse); retained
// is the heap still held by the ASTs of one 5 MB round after a full GC.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DockerfileParser } from 'dockerfile-ast';
import { build } from 'esbuild';
import { parseDockerfile } from '../../src/parser/parse.ts';
import { median, printTable } from '../stats.ts';

const exec = promisify(execFile);
const ROUNDS = 7;
const TARGET_BYTES = 5_000_000;

type ParserName = 'tsbuild' | 'dockerfile-ast';

/** What one child process measured. */
export interface Measurement {
  bytesPerRound: number;
  secondsPerRound: number[];
  instructionsPerRound: number;
  /** The child's max RSS. */
  peakKb: number;
  /** Max RSS over the resident size once loaded (after a GC), before parsing. */
  peakGrowthKb: number;
  retainedBytes: number;
}

/** The conformance Dockerfiles tsbuild's typed parser accepts, as paths. */
function corpusFiles(): string[] {
  const conformance = fileURLToPath(new URL('../../fixtures/parser/conformance/', import.meta.url));
  const paths = readdirSync(join(conformance, 'testfiles'))
    .sort()
    .map((name) => join(conformance, 'testfiles', name, 'Dockerfile'));
  for (const group of ['extract', 'json-no-heredoc']) paths.push(join(conformance, 'heredoc', group, 'Dockerfile'));
  return paths.filter((path) => {
    try {
      parseDockerfile(readFileSync(path, 'utf8'), path);
      return true;
    } catch {
      return false;
    }
  });
}

/** A parse function returning how many instructions it read, with everything a full AST has computed. */
function parserNamed(name: ParserName): (text: string, file: string) => { instructions: number; ast: unknown } {
  if (name === 'tsbuild') {
    return (text, file) => {
      const ast = parseDockerfile(text, file);
      return { instructions: ast.instructions.length, ast };
    };
  }
  return (text) => {
    const dockerfile = DockerfileParser.parse(text);
    const parts: unknown[] = [dockerfile.getDirectives(), dockerfile.getComments()];
    const instructions = dockerfile.getInstructions();
    for (const ins of instructions) {
      parts.push(ins.getRange(), ins.getInstructionRange(), ins.getArguments());
      if ('getFlags' in ins && typeof ins.getFlags === 'function') parts.push(ins.getFlags());
    }
    return { instructions: instructions.length, ast: [dockerfile, parts] };
  };
}

/**
 * Runs in the child process: parses the corpus with one parser and reports
 * its measurements. Needs `--expose-gc`.
 */
export function measure(name: ParserName, paths: string[]): Measurement {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const parse = parserNamed(name);
  const files = paths.map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  const bytesPerPass = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
  const passes = Math.ceil(TARGET_BYTES / bytesPerPass);
  const round = (keep?: unknown[]): number => {
    let instructions = 0;
    for (let p = 0; p < passes; p++) {
      for (const f of files) {
        const result = parse(f.text, f.path);
        instructions += result.instructions;
        keep?.push(result.ast);
      }
    }
    return instructions;
  };
  gc();
  const baselineKb = process.memoryUsage().rss / 1024;
  const instructionsPerRound = round();
  const secondsPerRound: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    round();
    secondsPerRound.push((performance.now() - t0) / 1000);
  }
  const peakKb = process.resourceUsage().maxRSS;
  const peakGrowthKb = peakKb - baselineKb;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const kept: unknown[] = [];
  round(kept);
  gc();
  const retainedBytes = process.memoryUsage().heapUsed - heapBefore;
  // Reading `kept` after the GC keeps the ASTs alive through it.
  if (kept.length === 0) throw new Error('nothing parsed');
  return { bytesPerRound: bytesPerPass * passes, secondsPerRound, instructionsPerRound, peakKb, peakGrowthKb, retainedBytes };
}

/** This file bundled for the children, as `scripts/bundle.mjs` bundles the CLI. */
async function bundleSelf(dir: string): Promise<string> {
  const outfile = join(dir, 'parse-bench.mjs');
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);" },
  });
  return outfile;
}

async function measureInChild(bundle: string, name: ParserName, paths: string[]): Promise<Measurement> {
  const script = `
    const { measure } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
    process.stdout.write(JSON.stringify(measure(${JSON.stringify(name)}, ${JSON.stringify(paths)})));`;
  const { stdout } = await exec(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as Measurement;
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

export async function run(): Promise<void> {
  const paths = corpusFiles();
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-bench-parse-'));
  const results: Array<[ParserName, Measurement]> = [];
  try {
    const bundle = await bundleSelf(dir);
    for (const name of ['tsbuild', 'dockerfile-ast'] as const) results.push([name, await measureInChild(bundle, name, paths)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const throughput = (m: Measurement): number => m.bytesPerRound / 1e6 / median(m.secondsPerRound);
  const reference = results.find(([name]) => name === 'dockerfile-ast')?.[1];
  process.stdout.write(
    `corpus: ${paths.length} conformance Dockerfiles, each parsed as a file, repeated to ${mb(results[0]?.[1].bytesPerRound ?? 0)} MB per round; ` +
      `median of ${ROUNDS} rounds after one warm-up, each parser in a fresh process\n\n`,
  );
  printTable(
    ['parser', 'instructions/round', 'median s', 'MB/s', 'speed vs dockerfile-ast', 'peak RSS MB', 'growth MB', 'retained AST MB'],
    results.map(([name, m]) => [
      name,
      String(m.instructionsPerRound),
      median(m.secondsPerRound).toFixed(3),
      throughput(m).toFixed(2),
      reference ? `${(throughput(m) / throughput(reference)).toFixed(2)}x` : '',
      mb(m.peakKb * 1024),
      mb(m.peakGrowthKb * 1024),
      mb(m.retainedBytes),
    ]),
  );
}

// `npm run fuzz [-- RUNS [SEED]]`: the parser fuzz property over many more
// cases than the test suite runs (default 100,000, a random seed), then the
// slowest input (after a warm-up) and the heap high-water mark, to spot
// inputs that cost out of proportion to their size.
import fc from 'fast-check';
import { checkParser, dockerfileInputs, seedDockerfiles } from './fuzz.ts';

const runs = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
process.stdout.write(`fuzzing the parser: ${runs} cases, seed ${seed}\n`);

/** Cases before this are the JIT's warm-up (the first also builds the lexer and parser). */
const WARM_UP = 100;
let slowest = { ms: 0, text: '' };
let maxHeap = 0;
let cases = 0;
const started = performance.now();
fc.assert(
  fc.property(dockerfileInputs(seedDockerfiles()), (text) => {
    const t0 = performance.now();
    checkParser(text);
    const ms = performance.now() - t0;
    if (++cases > WARM_UP && ms > slowest.ms) slowest = { ms, text };
    if (cases % 1000 === 0) maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
  }),
  { numRuns: runs, seed },
);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${cases} cases passed in ${seconds.toFixed(1)} s (${Math.round(cases / seconds)}/s); ` +
    `slowest ${slowest.ms.toFixed(1)} ms for ${slowest.text.length} chars ${JSON.stringify(slowest.text.slice(0, 80))}; ` +
    `heap high-water ${(maxHeap / 1e6).toFixed(0)} MB\n`,
);

// `npm run bench [-- PART...]`: runs the benchmark parts (all by default),
// each printing its own side-by-side table of medians and ratios.
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A benchmark part: `bench/parts/<name>.ts` exporting `run`. */
export interface BenchPart {
  run(): Promise<void>;
}

const partsDir = join(dirname(fileURLToPath(import.meta.url)), 'parts');
const available = (await readdir(partsDir)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  process.stderr.write(`unknown bench part(s): ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : available) {
  process.stdout.write(`\n== bench: ${name} ==\n`);
  const part = (await import(pathToFileURL(join(partsDir, `${name}.ts`)).href)) as BenchPart;
  await part.run();
}

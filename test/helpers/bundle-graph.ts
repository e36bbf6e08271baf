import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The bundle files node loads before running anything: `entry` and every chunk it imports statically, transitively, with their text. */
export function staticGraph(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    // static imports only: `import … from "./x.mjs"` at the top level; `import("./x.mjs")` is lazy
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s*"(\.[^"]+\.mjs)";?$/gms)) visit(resolve(dirname(file), m[1] as string));
    for (const m of text.matchAll(/^import\s*"(\.[^"]+\.mjs)";?$/gm)) visit(resolve(dirname(file), m[1] as string));
  };
  visit(entry);
  return seen;
}

/** Whether bundled `text` contains the module `path` (esbuild heads each module with a `// path` comment) or imports it unbundled. */
export function bundles(text: string, path: string): boolean {
  return text.includes(`// ${path}`) || text.includes(`from "${path}`);
}

// Bundles the CLI so `bin/tsbuild` starts without a TypeScript loader
// (~0.1 s instead of ~0.85 s through tsx). Code splitting keeps start-up
// lean: `dist/tsbuild.mjs` only looks for a remembered build command line
// (src/cli/repeat-build.ts), the `cli` chunk holds yargs and the flag
// definitions, and each command's handler loads its own chunk (parser,
// registry client, executor…) only when it runs.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * yargs lays out `--help` with `string-width`, whose first call builds an
 * Intl.Segmenter and big Unicode regexps: a third of the start-up time of
 * `tsbuild --help`. Its importers get a stand-in that measures plain ASCII
 * itself and loads the real module (bundled, lazily) for anything else.
 */
const asciiStringWidth = {
  name: 'ascii-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, (args) =>
      args.pluginData?.real ? undefined : { path: args.resolveDir, namespace: 'ascii-string-width' },
    );
    b.onLoad({ filter: /.*/, namespace: 'ascii-string-width' }, (args) => ({
      contents: `
        const PRINTABLE_ASCII = /^[\\x20-\\x7e]*$/;
        let real;
        export default function stringWidth(text, options) {
          if (typeof text === 'string' && PRINTABLE_ASCII.test(text)) return text.length;
          real ??= require('string-width').default;
          return real(text, options);
        }`,
      resolveDir: args.path,
      pluginData: { real: true },
    }));
  },
};

const result = await build({
  entryPoints: { tsbuild: 'src/cli/main.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [asciiStringWidth],
  // A native addon cannot be bundled: it is loaded from node_modules at run time, only when zstd is used.
  external: ['zstd-napi'],
  // tar-stream and its dependencies are CommonJS and call require().
  banner: { js: "import { createRequire as __tsbuildRequire } from 'node:module'; const require = __tsbuildRequire(import.meta.url);" },
  metafile: true,
});

// Chunks of earlier bundles: a tsbuild started before this bundle may still
// load one lazily, so only those a day old are removed.
const current = new Set(Object.keys(result.metafile.outputs).map((p) => p.replace(/\.map$/, '')));
const DAY_MS = 24 * 3600 * 1000;
for (const name of await readdir('dist/chunks')) {
  const path = join('dist/chunks', name);
  if (!current.has(path.replace(/\.map$/, '')) && Date.now() - (await stat(path)).mtimeMs > DAY_MS) await rm(path, { force: true });
}

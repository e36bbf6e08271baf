// Bundles the CLI so `bin/tsbuild` starts without a TypeScript loader
// (~0.1 s instead of ~0.85 s through tsx). Code splitting keeps start-up
// lean: `dist/tsbuild.mjs` only looks for a remembered build command line
// (src/cli/repeat-build.ts), the `cli` chunk holds yargs and the flag
// definitions, and each command's handler loads its own chunk (parser,
// registry client, executor…) only when it runs. Chunk groups (below) keep
// the modules a rebuild answered by the build memo loads in a few files.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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

const options = {
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
  // A native addon cannot be bundled: it is loaded from node_modules at run time, only when zstd is used.
  external: ['zstd-napi'],
  // tar-stream and its dependencies are CommonJS and call require().
  banner: { js: "import { createRequire as __tsbuildRequire } from 'node:module'; const require = __tsbuildRequire(import.meta.url);" },
  metafile: true,
};

/**
 * esbuild puts each module into the chunk shared by exactly the entry
 * points (the CLI entry and every `import()` target) that reach it, so the
 * modules a command loads end up spread over many small chunks; node spends
 * about 0.6 ms on each file it loads (resolve, read, compile, link), and a
 * rebuild the build memo answers would load 20 of them.
 *
 * A group is a set of source modules that share one chunk: an import of a
 * member from outside its group goes through a facade (one per importer, so
 * the facade lands in its importer's chunk) that re-exports the member and
 * imports the group's barrel, which imports every member. Whichever entry
 * point reaches one member then reaches them all, and they all have the same
 * entry points. Members import each other directly; neither facades nor
 * barrels are imported by members, so no cycle is added. A default export
 * would not pass through the facade's `export *`: members have none.
 */
const SRC = resolve('src') + '/';

/** The esbuild plugin that makes each of `groups` (sets of absolute paths) one chunk, as above. */
function chunkGroups(groups) {
  const groupOf = new Map();
  groups.forEach((members, i) => {
    for (const path of members) {
      if (/^export default\b/m.test(readFileSync(path, 'utf8'))) throw new Error(`${path}: a chunk group member cannot have a default export`);
      groupOf.set(path, i);
    }
  });
  return {
    name: 'chunk-groups',
    setup(b) {
      b.onResolve({ filter: /^\./, namespace: 'file' }, async (args) => {
        // members are source modules, and only source modules import them
        if (args.pluginData?.resolving || !args.importer.startsWith(SRC)) return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { resolving: true } });
        const group = groupOf.get(r.path);
        if (r.errors.length > 0 || group === undefined || groupOf.get(args.importer) === group) return undefined;
        return { path: `${r.path}?from=${args.importer}`, namespace: 'chunk-group-facade', pluginData: { member: r.path, group } };
      });
      b.onLoad({ filter: /.*/, namespace: 'chunk-group-facade' }, ({ pluginData: { member, group } }) => ({
        contents: `export * from ${JSON.stringify(member)};\nimport "chunk-group:${group}";\n`,
        loader: 'js',
      }));
      b.onResolve({ filter: /^chunk-group:/ }, (args) => ({ path: args.path.slice('chunk-group:'.length), namespace: 'chunk-group-barrel' }));
      b.onLoad({ filter: /.*/, namespace: 'chunk-group-barrel' }, (args) => ({
        contents: [...(groups[Number(args.path)] ?? [])].map((path) => `import ${JSON.stringify(path)};`).join('\n'),
        loader: 'js',
      }));
      // facades and barrels name members by absolute path: back to the file namespace
      b.onResolve({ filter: /^\//, namespace: 'chunk-group-facade' }, (args) => ({ path: args.path }));
      b.onResolve({ filter: /^\//, namespace: 'chunk-group-barrel' }, (args) => ({ path: args.path }));
    },
  };
}

/** The source modules `entry` imports statically, transitively, by path relative to the working dir (as a metafile names them). */
function staticImports(inputs, entry) {
  const seen = new Set();
  const queue = [entry];
  while (queue.length > 0) {
    const path = queue.pop();
    if (seen.has(path) || !inputs[path]) continue;
    seen.add(path);
    for (const i of inputs[path].imports) if (i.kind === 'import-statement' && !i.external) queue.push(i.path);
  }
  return seen;
}

/**
 * The groups, from the module graph of a first pass:
 *
 * - what every command loads: main.ts's static imports, and those the
 *   command line parser (cli.ts) and a remembered build (build-command.ts)
 *   share, as one of the two always follows;
 * - what a rebuild the memo answers loads on top of that (build-command.ts's
 *   static imports), except what the parser loads (`--help` stays lean) and
 *   what no other entry point loads, which esbuild keeps in
 *   build-command's own file anyway. Commands that load one of these load
 *   them all: a few tens of kB more for `tsbuild images` or `tag`, in
 *   exchange for one file instead of a dozen on the rebuild;
 * - what a build the memo cannot answer loads on top of those (the static
 *   imports of build/pipeline.ts, the heavy half of a build), which esbuild
 *   spread over some 25 chunks shared with other commands: loading them took
 *   43 ms, one chunk 27 ms. Those a light command loads (one whose code is
 *   under LIGHT_BYTES, such as `tsbuild images`) make a group of their own,
 *   so that it does not load the whole heavy half for them.
 */
/** The source size (with what it imports statically) under which a command counts as light (see hitPathGroups). */
const LIGHT_BYTES = 64 * 1024;

function hitPathGroups(metafile) {
  const { inputs } = metafile;
  const main = staticImports(inputs, 'src/cli/main.ts');
  const parser = staticImports(inputs, 'src/cli/cli.ts');
  const hit = staticImports(inputs, 'src/cli/build-command.ts');
  const entries = Object.values(metafile.outputs).flatMap((o) => (o.entryPoint && !['src/cli/main.ts', 'src/cli/build-command.ts'].includes(o.entryPoint) ? [o.entryPoint] : []));
  const elsewhere = new Set(entries.flatMap((e) => [...staticImports(inputs, e)]));
  const everyCommand = [...main, ...[...parser].filter((p) => hit.has(p))];
  const rebuild = [...hit].filter((p) => !main.has(p) && !parser.has(p) && elsewhere.has(p));
  const light = new Set(
    entries
      .map((e) => staticImports(inputs, e))
      .filter((graph) => [...graph].reduce((n, p) => n + inputs[p].bytes, 0) < LIGHT_BYTES)
      .flatMap((graph) => [...graph]),
  );
  const build = [...staticImports(inputs, 'src/build/pipeline.ts')].filter((p) => !main.has(p) && !parser.has(p) && !hit.has(p));
  const members = (paths) => new Set(paths.filter((p) => p.startsWith('src/') && !['src/cli/main.ts', 'src/cli/build-command.ts', 'src/build/pipeline.ts'].includes(p)).map((p) => resolve(p)));
  return [members(everyCommand), members(rebuild), members(build.filter((p) => !light.has(p))), members(build.filter((p) => light.has(p)))];
}

/**
 * A hash of every file the bundle is made from, as `TSBUILD_SOURCE_HASH`:
 * what caches of this build's own results (src/build/parse-cache.ts) are
 * keyed by, so that another build never reads them.
 */
function sourceHash(metafile) {
  const h = createHash('sha256');
  for (const path of Object.keys(metafile.inputs).sort()) {
    h.update(`${path}\0`);
    if (existsSync(path)) h.update(readFileSync(path));
  }
  return h.digest('hex');
}

const graph = await build({ ...options, plugins: [asciiStringWidth], write: false, sourcemap: false });
const result = await build({
  ...options,
  define: { TSBUILD_SOURCE_HASH: JSON.stringify(sourceHash(graph.metafile)) },
  plugins: [asciiStringWidth, chunkGroups(hitPathGroups(graph.metafile))],
});

// Chunks of earlier bundles: a tsbuild started before this bundle may still
// load one lazily, so only those a day old are removed.
const current = new Set(Object.keys(result.metafile.outputs).map((p) => p.replace(/\.map$/, '')));
const DAY_MS = 24 * 3600 * 1000;
for (const name of await readdir('dist/chunks')) {
  const path = join('dist/chunks', name);
  if (!current.has(path.replace(/\.map$/, '')) && Date.now() - (await stat(path)).mtimeMs > DAY_MS) await rm(path, { force: true });
}

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { bundles, staticGraph } from './helpers/bundle-graph.ts';
import { projectRoot, tsbuild } from './helpers/tsbuild.ts';

describe('start-up', () => {
  it('bin/tsbuild runs the bundle with plain node, never through a TypeScript loader', () => {
    const bin = readFileSync(join(projectRoot, 'bin/tsbuild'), 'utf8');
    assert.match(bin, /^#!\/bin\/sh\n/);
    assert.match(bin, /\nexec node "[^\n]*\/\.\.\/dist\/tsbuild\.mjs" "\$@"\n$/);
    assert.doesNotMatch(bin, /tsx|ts-node|--import|--loader/);
  });

  it('--help, completion and flag checks load only yargs and the flag definitions: the heavy parts are lazy', () => {
    const entry = join(projectRoot, 'dist/tsbuild.mjs');
    const entryText = [...staticGraph(entry).values()].join('\n');
    assert.doesNotMatch(entryText, /node_modules\/yargs\//, 'a repeated build command line needs no parser (src/cli/repeat-build.ts)');
    const cli = /import\("(\.\/chunks\/cli-[^"]+\.mjs)"\)/.exec(readFileSync(entry, 'utf8'))?.[1];
    assert.ok(cli, 'the entry loads the command line parser lazily');
    const text = [...staticGraph(resolve(dirname(entry), cli)).values(), entryText].join('\n');
    assert.match(text, /node_modules\/yargs\//, 'the walk found the parser');
    for (const heavy of ['node_modules/chevrotain/', 'zstd-napi', 'node_modules/tar-stream/', 'src/registry/', 'src/parser/parse.ts', 'src/executor/', 'src/build/build.ts', 'node_modules/chalk/']) {
      assert.ok(!bundles(text, heavy), `${heavy} is loaded at start-up`);
    }
  });

  it('--help works from the bundle', async () => {
    const r = await tsbuild('/nonexistent-root', ['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^tsbuild \[build\] \[CONTEXT\] \[flags\]/);
  });
});

import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { bundles, staticGraph } from './helpers/bundle-graph.ts';
import { projectRoot } from './helpers/tsbuild.ts';

/**
 * A remembered build command line that the build memo answers (see
 * src/cli/repeat-build.ts and src/build/build-memo.ts) loads the entry,
 * then the build command's chunk: what they import statically is all it
 * loads, so it must stay small (see scripts/bundle.mjs, chunk groups).
 */
describe('a rebuild the build memo answers', () => {
  const entry = join(projectRoot, 'dist/tsbuild.mjs');
  const files = (): Map<string, string> => {
    const startUp = staticGraph(entry);
    const lazy = [...startUp].flatMap(([file, text]) => {
      const m = /import\("(\.\/[^"]*build-command-[^"]+\.mjs)"\)/.exec(text);
      return m ? [resolve(dirname(file), m[1] as string)] : [];
    });
    assert.equal(lazy.length, 1, 'the start-up code loads the build command lazily, from one place');
    return new Map([...startUp, ...staticGraph(lazy[0] as string)]);
  };

  it('loads a handful of files', () => {
    const loaded = files();
    assert.ok(loaded.size <= 6, `${loaded.size} files: ${[...loaded.keys()].map((f) => f.slice(projectRoot.length)).join(' ')}`);
    const text = [...loaded.values()].join('\n');
    assert.ok(bundles(text, 'src/build/build-memo.ts'), 'the walk found the memo');
  });

  it('loads nothing only a full build, a rare flag, a dead session or a due collection needs', () => {
    const text = [...files().values()].join('\n');
    for (const heavy of [
      'node_modules/yargs/',
      'node_modules/chalk/',
      'src/cli/commands/',
      'src/cli/stdin-context.ts',
      'src/cli/result-files.ts',
      'src/cli/output-spec.ts',
      'src/cli/secret-spec.ts',
      'src/cache/gc.ts',
      'src/cache/cache-spec.ts',
      'src/build/pipeline.ts',
      'src/parser/parse.ts',
      'src/image/compression.ts',
      'src/executor/oci-runtime.ts',
      'src/executor/overlay.ts',
      'src/host-commands.ts',
      'src/progress/tty.ts',
    ]) {
      assert.ok(!bundles(text, heavy), `${heavy} is loaded by a memo-answered rebuild`);
    }
    for (const builtin of ['crypto', 'zlib', 'child_process', 'readline', 'net', 'tty', 'worker_threads']) {
      assert.doesNotMatch(text, new RegExp(`(from|import) "node:${builtin}["/]`), `node:${builtin} is loaded by a memo-answered rebuild`);
    }
  });
});

describe('a build the memo cannot answer', () => {
  it('loads the heavy half of a build (build/pipeline.ts) in a handful of files', () => {
    const entry = join(projectRoot, 'dist/tsbuild.mjs');
    const lazyImport = (files: Map<string, string>, name: string): string => {
      const found = [...files].flatMap(([file, text]) => {
        const m = new RegExp(`import\\("(\\./[^"]*${name}-[^"]+\\.mjs)"\\)`).exec(text);
        return m ? [resolve(dirname(file), m[1] as string)] : [];
      });
      assert.equal(found.length, 1, `${name} is imported lazily, from one place`);
      return found[0] as string;
    };
    const buildCommand = staticGraph(lazyImport(staticGraph(entry), 'build-command'));
    const pipeline = staticGraph(lazyImport(buildCommand, 'pipeline'));
    const added = [...pipeline.keys()].filter((f) => !buildCommand.has(f));
    assert.ok(bundles([...pipeline.values()].join('\n'), 'src/executor/executor.ts'), 'the walk found the executor');
    // esbuild alone spread these modules over some 25 chunks shared with other commands
    assert.ok(added.length <= 4, `${added.length} files: ${added.map((f) => f.slice(projectRoot.length)).join(' ')}`);
  });
});

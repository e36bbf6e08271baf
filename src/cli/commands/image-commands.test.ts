import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { storeImage } from '../../image/image-writer.ts';
import { writeLayer } from '../../image/layer-writer.ts';
import type { Descriptor, ImageConfig } from '../../image/oci.ts';
import { parseReference } from '../../image/reference.ts';
import { sh } from '../../image/test-support.ts';
import { localStores } from '../local-images.ts';

let tmp: string;
let root: string;
let image: { manifest: Descriptor; config: Descriptor };
let layerSize: number;

/**
 * Runs command lines through the five commands in one child process (the test
 * runner owns this process's stdout), returning what each printed on stdout,
 * or its error message.
 */
async function runAll(lines: string[][]): Promise<{ out: string; error?: string }[]> {
  const script = join(tmp, 'run-commands.mts');
  const here = dirname(fileURLToPath(import.meta.url));
  await writeFile(
    script,
    `import yargs from '${import.meta.resolve('yargs')}';
import { writeFileSync } from 'node:fs';
${NAMES.map((n) => `import { ${n}Command } from '${join(here, `${n}.ts`)}';`).join('\n')}
const [root, input, output] = process.argv.slice(2);
const results = [];
const write = process.stdout.write.bind(process.stdout);
for (const args of JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(input, 'utf8')))) {
  const printed = [];
  process.stdout.write = (chunk) => (printed.push(String(chunk)), true);
  try {
    await yargs([...args, '--root', root]).strict()${NAMES.map((n) => `.command(${n}Command)`).join('')}
      .fail((msg, err) => { throw err ?? new Error(msg); }).parseAsync();
    results.push({ out: printed.join('') });
  } catch (e) {
    results.push({ out: printed.join(''), error: e.message });
  } finally {
    process.stdout.write = write;
  }
}
writeFileSync(output, JSON.stringify(results));
`,
  );
  const input = join(tmp, 'commands.json');
  const output = join(tmp, 'results.json');
  await writeFile(input, JSON.stringify(lines));
  execFileSync(process.execPath, ['--import', 'tsx', script, root, input, output], { cwd: join(here, '..', '..', '..'), stdio: ['ignore', 'ignore', 'pipe'] });
  return JSON.parse(await readFile(output, 'utf8')) as { out: string; error?: string }[];
}

const NAMES = ['images', 'tag', 'rmi', 'inspect', 'history'];
let results: { out: string; error?: string }[];
/** The output of the i-th command line below. */
const result = (i: number): { out: string; error?: string } => results[i] as { out: string; error?: string };

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-image-cmds-'));
  root = join(tmp, 'root');
  const src = join(tmp, 'src');
  sh(`mkdir -p '${src}/app' && head -c 5000 /dev/urandom > '${src}/app/data'`);
  const { store, images } = localStores(root);
  const layer = await writeLayer(src, store);
  layerSize = layer.descriptor.size;
  const created = new Date(Date.now() - 3 * 3600 * 1000).toISOString();
  const config: ImageConfig = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/app/run'] },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [
      { created, created_by: 'COPY app /app # buildkit', comment: 'buildkit.dockerfile.v0' },
      { created, created_by: 'CMD ["/app/run"]', comment: 'buildkit.dockerfile.v0', empty_layer: true },
    ],
  };
  image = await storeImage(store, config, [layer]);
  await images.tag(parseReference('example.com/app:1'), image.manifest);
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('image commands', async (t) => {
  const id = image.config.digest.slice(7, 19);
  results = await runAll([
    ['images'],
    ['images', '--format', 'json'],
    ['tag', 'example.com/app:1', 'app:latest'],
    ['tag', image.config.digest.slice(7, 15), 'other/app:2'],
    ['inspect', 'app'],
    ['inspect', 'nope:1'],
    ['history', 'example.com/app:1'],
    ['history', 'app', '--format', 'json'],
    ['rmi', 'other/app:2'],
    ['rmi', id],
    ['rmi', '-f', id],
    ['images', '--format', 'json'],
  ]);

  await t.test('images: a table, and JSON lines', () => {
    const lines = result(0).out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(lines[1] ?? '', new RegExp(`^example.com/app\\s+1\\s+${id}\\s+3 hours ago\\s+\\S+B$`));
    const json = JSON.parse(result(1).out) as Record<string, unknown>;
    assert.deepEqual(json, {
      name: 'example.com/app:1',
      repository: 'example.com/app',
      tag: '1',
      id: image.config.digest,
      digest: image.manifest.digest,
      created: json.created,
      size: layerSize,
    });
  });

  await t.test('tag by name and by ID prefix; inspect shows digest, manifest and config', () => {
    assert.equal(result(2).error, undefined);
    assert.equal(result(3).error, undefined);
    const [inspected] = JSON.parse(result(4).out) as { Names: string[]; Digest: string; Id: string; Manifest: { layers: unknown[] }; Config: ImageConfig }[];
    assert.deepEqual(inspected?.Names, ['docker.io/library/app:latest']);
    assert.equal(inspected?.Digest, image.manifest.digest);
    assert.equal(inspected?.Id, image.config.digest);
    assert.equal(inspected?.Manifest.layers.length, 1);
    assert.deepEqual(inspected?.Config.config?.Cmd, ['/app/run']);
    assert.equal(result(5).error, 'no such image: nope:1');
  });

  await t.test('history: newest first, empty layers 0B, sizes of the layers', () => {
    const lines = result(6).out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.match(lines[1] ?? '', new RegExp(`^${id}\\s+3 hours ago\\s+CMD \\["/app/run"\\]\\s+0B\\s+buildkit.dockerfile.v0$`));
    assert.match(lines[2] ?? '', /^<missing>\s+3 hours ago\s+COPY app \/app # buildkit\s+\d+(\.\d+)?kB\s+buildkit.dockerfile.v0$/);
    const json = result(7).out.trim().split('\n').map((l) => JSON.parse(l) as { size: number });
    assert.deepEqual(json.map((j) => j.size), [0, layerSize]);
  });

  await t.test('rmi removes names; an ID with several names needs --force', () => {
    assert.equal(result(8).out, 'Untagged: docker.io/other/app:2\n');
    assert.match(result(9).error ?? '', /has 2 names/);
    assert.equal(result(10).out, 'Untagged: docker.io/library/app:latest\nUntagged: example.com/app:1\n');
    assert.equal(result(11).out, '');
  });
});

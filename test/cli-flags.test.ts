import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRegistry, type TestRegistry } from './helpers/registry.ts';
import { fixture, mustRun, run, tempDir, tsbuild, type CliResult } from './helpers/tsbuild.ts';


/** Runs `tasks` at most `n` at a time. */
async function limited<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await (tasks[i] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

/** The one `error:` line of a failed command, checked for what every failure must be. */
function errorOf(r: CliResult, what: string): string {
  assert.equal(r.code, 1, `${what}: exit code\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(lines.length, 1, `${what}: one error line\n${r.stderr}`);
  return lines[0] as string;
}

interface ImageConfigJson {
  config: { Labels?: Record<string, string> };
}

describe('tsbuild build flags', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  const scratch = fixture('cli', 'scratch');

  before(async () => {
    work = await tempDir('tsbuild-cli-flags-');
    root = join(work.path, 'root');
  });
  after(async () => work.cleanup());

  it('a bad value of any flag is one clear error line, exit 1, before any work', async () => {
    const file = join(work.path, 'a-file');
    await writeFile(file, 'not a directory');
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [['--progress', 'fancy'], /^error: invalid --progress "fancy": expected auto, tty, plain, json or quiet$/],
      [['--progress', 'jsn'], /^error: invalid --progress "jsn": .* \(did you mean json\?\)$/],
      [['--progress', 'plain', '--progress', 'json'], /^error: --progress is given 2 times; it takes one value$/],
      [['--network', 'bridge'], /^error: invalid --network "bridge": expected default, none or host$/],
      [['-t', 'Bad:1'], /^error: invalid -t "Bad:1": repository component "Bad" must be lowercase/],
      [['-t', 'app:bad!tag'], /^error: invalid -t "app:bad!tag": tag "bad!tag" is not valid$/],
      [['--build-arg', '=x'], /^error: invalid --build-arg "=x": expected NAME=VALUE or NAME$/],
      [['--label', '=x'], /^error: invalid --label "=x": expected KEY=VALUE$/],
      [['--platform', 'linux/'], /^error: invalid platform "linux\/": expected os\/arch\[\/variant\]/],
      [['--platform', 'linux/amd64,linux/arm64'], /^error: invalid --platform "linux\/amd64,linux\/arm64": one platform at a time$/],
      [['--source-date-epoch', 'yesterday'], /^error: invalid --source-date-epoch "yesterday": expected whole seconds since 1970$/],
      [[], /^error: invalid SOURCE_DATE_EPOCH "soon": expected whole seconds since 1970$/, { SOURCE_DATE_EPOCH: 'soon' }],
      [['--compression', 'lz4'], /^error: unknown compression "lz4"/],
      [['--compression-level', 'high'], /^error: invalid --compression-level "high": expected a whole number$/],
      [['--compression', 'none', '--compression-level', '3'], /^error: compression none takes no level$/],
      [['-o', 'type=wat,dest=x'], /^error: invalid --output "type=wat,dest=x": unknown type "wat"/],
      [['--iidfile', '/nonexistent-dir/iid'], /^error: invalid --iidfile "\/nonexistent-dir\/iid": the directory \/nonexistent-dir does not exist$/],
      [['--metadata-file', '/tmp'], /^error: invalid --metadata-file "\/tmp": it is a directory$/],
      [['--secret', 'id'], /^error: invalid --secret "id": expected key=value pairs$/],
      [['--secret', `src=${file}`], /^error: invalid --secret ".*": it needs id=NAME$/],
      [['--secret', 'id=x,src=/nonexistent'], /^error: invalid --secret "id=x,src=\/nonexistent": cannot read the file \/nonexistent$/],
      [['--secret', 'id=x,colour=red'], /^error: invalid --secret "id=x,colour=red": unknown key "colour"/],
      [['--ssh', 'default'], /^error: --ssh default: no socket given and SSH_AUTH_SOCK is not set$/, { SSH_AUTH_SOCK: '' }],
      [['--ssh', `key=${file}`], /^error: invalid --ssh "key=.*": .* is not a socket$/],
      [['--build-context', 'base'], /^error: invalid --build-context "base": expected NAME=docker-image:\/\/REF/],
      [['--build-context', 'base=ftp://x'], /^error: invalid --build-context "base=ftp:\/\/x": unsupported source ftp:\/\//],
      [['--build-context', 'base=oci-layout:///nonexistent'], /^error: invalid --build-context ".*": \/nonexistent is not an OCI layout \(no index.json\)$/],
      [['--build-context', 'base=docker-image://Bad'], /^error: invalid --build-context "base=docker-image:\/\/Bad": invalid image reference/],
      [['--build-context', 'base=/nonexistent'], /^error: invalid --build-context "base=\/nonexistent": \/nonexistent is not a directory$/],
      [['--root', file], /^error: invalid --root ".*": it is not a directory$/],
      [['--push'], /^error: --push needs a name to push to: give -t NAME$/],
      [['--target', 'nope'], /^error: target stage "nope" could not be found$/],
      [['-f', '/nonexistent/Dockerfile'], /^error: cannot read Dockerfile \/nonexistent\/Dockerfile$/],
      [['-f', 'a', '-f', 'b'], /^error: --file is given 2 times; it takes one value$/],
      [['--pull=maybe'], /^error: invalid --pull=maybe: --pull is true or false \(or the flag alone\)$/],
      [['--no-cache=perhaps'], /^error: invalid --no-cache=perhaps: --no-cache is true or false/],
      [['--quiet=0'], /^error: invalid --quiet=0: --quiet is true or false/],
      [['--push=yes', '-t', 'x'], /^error: invalid --push=yes: --push is true or false/],
      [['--tagg', 'x'], /^error: unknown flag --tagg$/],
    ];
    const results = await limited(4, cases.map(([args, , env]) => () => tsbuild(root, ['build', ...args, scratch], env ? { env } : {})));
    for (const [i, [args, expected]] of cases.entries()) {
      const r = results[i] as CliResult;
      assert.match(errorOf(r, args.join(' ')), expected, args.join(' '));
    }
    // a flag that takes a value, given none; a misspelt flag gets a suggestion; a misspelt command too
    assert.match(errorOf(await tsbuild(root, ['build', scratch, '--iidfile']), '--iidfile'), /^error: --iidfile needs a value$/);
    const typo = await tsbuild(root, ['build', '--tagg', 'x', scratch]);
    assert.match(typo.stderr, /^hint: did you mean --tag\? \(run "tsbuild --help" for its flags\)$/m);
    const command = await tsbuild(root, ['biuld']);
    assert.match(errorOf(command, 'biuld'), /^error: build context biuld does not exist$/);
    assert.match(command.stderr, /^hint: did you mean "tsbuild build"\?$/m);
    const debug = await tsbuild(root, ['build', '--debug', '--label', '=x', scratch]);
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /^error: invalid --label "=x"/);
    assert.match(debug.stderr, /\n\s+at /, '--debug adds the stack');
  });

  it('build CONTEXT builds a context whose name is also a command', async () => {
    await cp(scratch, join(work.path, 'plan'), { recursive: true });
    const r = await tsbuild(root, ['build', 'plan', '-q'], { cwd: work.path });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  });

  it('-t, --label, --iidfile and --metadata-file: the names, the labels over the Dockerfile, the files buildx writes', async () => {
    const iid = join(work.path, 'iid');
    const meta = join(work.path, 'metadata.json');
    const r = await tsbuild(root, ['build', '-q', '-t', 'cli.test/scratch:1', '-t', 'cli.test/scratch:latest', '--label', 'org.example.from=flag', '--label', 'empty', '--iidfile', iid, '--metadata-file', meta, scratch]);
    assert.equal(r.code, 0, r.stderr);
    const digest = r.stdout.trim();
    const [inspected] = JSON.parse((await tsbuild(root, ['inspect', 'cli.test/scratch:1'])).stdout) as { Digest: string; Id: string; Config: ImageConfigJson }[];
    assert.equal(inspected?.Digest, digest);
    assert.deepEqual(inspected?.Config.config.Labels, { 'org.example.from': 'flag', empty: '' });
    assert.equal(await readFile(iid, 'utf8'), inspected?.Id);
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(metadata, {
      'containerimage.config.digest': inspected?.Id,
      'containerimage.descriptor': { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: (metadata['containerimage.descriptor'] as { size: number }).size },
      'containerimage.digest': digest,
      'image.name': 'cli.test/scratch:1,cli.test/scratch:latest',
    });
  });

  it('- reads a Dockerfile from stdin (empty context), or a context tar, plain or gzip; -f - reads the Dockerfile', async () => {
    const out = (name: string): string => join(work.path, 'out', name);
    const fromText = await tsbuild(root, ['build', '-q', '-o', `type=local,dest=${out('text')}`, '-'], { stdin: 'FROM scratch\nLABEL from=stdin\n' });
    assert.equal(fromText.code, 0, fromText.stderr);
    for (const [name, flags] of [['tar', '-c'], ['tgz', '-cz']] as const) {
      const tar = await new Promise<Buffer>((resolve, reject) => {
        const child = spawn('tar', [flags, '-C', scratch, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const chunks: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => chunks.push(b));
        child.on('error', reject);
        child.on('close', () => resolve(Buffer.concat(chunks)));
      });
      const r = await tsbuild(root, ['build', '-q', '-o', `type=local,dest=${out(name)}`, '-'], { stdin: tar });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await readFile(join(out(name), 'a.txt'), 'utf8'), 'a file in a scratch image\n');
    }
    const fileFromStdin = await tsbuild(root, ['build', '-q', '-f', '-', '-o', `type=local,dest=${out('dash-f')}`, scratch], { stdin: 'FROM scratch\nCOPY a.txt /copied.txt\n' });
    assert.equal(fileFromStdin.code, 0, fileFromStdin.stderr);
    assert.equal(await readFile(join(out('dash-f'), 'copied.txt'), 'utf8'), 'a file in a scratch image\n');
    const both = await tsbuild(root, ['build', '-f', '-', '-'], { stdin: 'FROM scratch\n' });
    assert.match(errorOf(both, '-f - -'), /^error: the context and the Dockerfile cannot both come from stdin \(-\)$/);
    const bad = await tsbuild(root, ['build', '-'], { stdin: 'FROM scratch\nCOPPY a b\n' });
    assert.match(errorOf(bad, 'bad stdin Dockerfile'), /^error: Dockerfile:2:1: unknown instruction: COPPY/i);
  });

  it('--build-context: FROM and COPY --from a name that is another image (docker-image://) or an OCI layout (oci-layout://)', async () => {
    const layout = join(work.path, 'layout');
    const exported = await tsbuild(root, ['build', '-q', '-t', 'cli.test/ctx-source:1', '-o', `type=oci,dest=${layout},tar=false`, scratch]);
    assert.equal(exported.code, 0, exported.stderr);
    const ctx = join(work.path, 'named');
    await mustRun('mkdir', ['-p', ctx]);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM base\nCOPY --from=other /a.txt /from-other.txt\n');
    for (const source of ['docker-image://cli.test/ctx-source:1', `oci-layout://${layout}`]) {
      const dest = join(work.path, 'out', source.split(':')[0] as string);
      const r = await tsbuild(root, ['build', '-q', '--build-context', `base=${source}`, '--build-context', `other=${source}`, '-o', `type=local,dest=${dest}`, ctx]);
      assert.equal(r.code, 0, `${source}\n${r.stderr}`);
      assert.equal(await readFile(join(dest, 'a.txt'), 'utf8'), 'a file in a scratch image\n');
      assert.equal(await readFile(join(dest, 'from-other.txt'), 'utf8'), 'a file in a scratch image\n');
    }
  });

  describe('with a registry', () => {
    let registry: TestRegistry;
    before(async () => (registry = await startRegistry()));
    after(async () => registry?.stop());

    it('--push sends the image to the registry of each -t name; --pull asks the registry even when the store has the image', async () => {
      const name = `${registry.host}/cli/scratch:1`;
      const pushed = await tsbuild(root, ['build', '--progress', 'plain', '-t', name, '--push', scratch]);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stderr, /: pushed /);
      const served = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])).stdout) as { config: { digest: string } };
      const [local] = JSON.parse((await tsbuild(root, ['inspect', name])).stdout) as { Id: string }[];
      assert.equal(served.config.digest, local?.Id);

      const ctx = join(work.path, 'from-registry');
      await mustRun('mkdir', ['-p', ctx]);
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${name}\nLABEL x=1\n`);
      const local1 = await tsbuild(root, ['build', '--progress', 'plain', ctx]);
      assert.equal(local1.code, 0, local1.stderr);
      assert.doesNotMatch(local1.stderr, /pulling/);
      const pulled = await tsbuild(root, ['build', '--progress', 'plain', '--pull', ctx]);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.match(pulled.stderr, new RegExp(`pulling ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      await registry.stop();
      const gone = await tsbuild(root, ['build', '--pull', ctx]);
      assert.match(errorOf(gone, '--pull with the registry gone'), new RegExp(`^error: Dockerfile:1:6: cannot reach registry ${registry.host}`));
    });
  });
});

describe('the other commands: one style of flags and output', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  before(async () => {
    work = await tempDir('tsbuild-cli-commands-');
    root = join(work.path, 'root');
  });
  after(async () => work.cleanup());

  it('every command has --help; completion prints a script and completes commands and flags', async () => {
    const commands = ['build', 'parse', 'plan', 'context', 'images', 'tag', 'rmi', 'inspect', 'history', 'pull', 'push', 'login', 'logout'];
    const helps = await limited(4, commands.map((c) => () => tsbuild(root, [c, '--help'])));
    for (const [i, r] of helps.entries()) {
      assert.equal(r.code, 0, commands[i]);
      assert.match(r.stdout, new RegExp(`^tsbuild ${commands[i]}`), commands[i]);
    }
    const top = await tsbuild(root, ['--help']);
    for (const c of commands) assert.match(top.stdout, new RegExp(`tsbuild ${c}\\b`));
    const script = await tsbuild(root, ['completion']);
    assert.equal(script.code, 0);
    assert.match(script.stdout, /--get-yargs-completions/);
    const words = (await tsbuild(root, ['--get-yargs-completions', 'tsbuild', ''])).stdout.split('\n');
    for (const c of commands) assert.ok(words.includes(c), c);
    const flags = (await tsbuild(root, ['--get-yargs-completions', 'tsbuild', 'build', '--'])).stdout.split('\n');
    for (const f of ['--no-cache', '--build-arg', '--progress', '--metadata-file']) assert.ok(flags.includes(f), f);
  });

  it('--format: table or json wherever a table is printed, text or json for parse and plan; bad values are clear', async () => {
    const built = await tsbuild(root, ['build', '-q', '-t', 'cli.test/fmt:1', fixture('cli', 'scratch')]);
    assert.equal(built.code, 0, built.stderr);
    const images = await tsbuild(root, ['images', '--format', 'json']);
    assert.equal((JSON.parse(images.stdout) as { name: string }).name, 'cli.test/fmt:1');
    const history = await tsbuild(root, ['history', '--format', 'json', 'cli.test/fmt:1']);
    assert.equal(history.stdout.trim().split('\n').length, 2);
    const plan = await tsbuild(root, ['plan', '--format', 'json', fixture('cli', 'scratch')]);
    assert.equal((JSON.parse(plan.stdout) as { stages: unknown[] }).stages.length, 1);
    const parsed = await tsbuild(root, ['parse', '--format', 'json', join(fixture('cli', 'scratch'), 'Dockerfile')]);
    assert.ok(Array.isArray((JSON.parse(parsed.stdout) as { instructions: unknown[] }).instructions));
    for (const [args, expected] of [
      [['images', '--format', 'yaml'], /^error: invalid --format "yaml": expected table or json$/],
      [['history', 'cli.test/fmt:1', '--format', 'jsno'], /^error: invalid --format "jsno": expected table or json \(did you mean json\?\)$/],
      [['plan', '--format', 'table', fixture('cli', 'scratch')], /^error: invalid --format "table": expected text or json$/],
      [['parse', '--format', 'xml'], /^error: invalid --format "xml": expected text or json$/],
      [['pull', '--progress', 'loud', 'x'], /^error: invalid --progress "loud"/],
      [['push', '--root', '', 'x'], /^error: invalid --root "": give a directory$/],
      [['tag', 'only-one'], /^error: tsbuild tag: 2 arguments needed, 1 given$/],
      [['images', '--colour'], /^error: unknown flag --colour$/],
    ] as [string[], RegExp][]) {
      const r = await tsbuild(root, args);
      assert.match(errorOf(r, args.join(' ')), expected);
      assert.match(r.stderr, new RegExp(`^hint: .*run "tsbuild ${args[0]} --help" for its flags`, 'm'), args.join(' '));
    }
  });
});

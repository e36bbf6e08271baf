import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hostCommand, streamCommand } from './host-commands.ts';

describe('hostCommand', () => {
  it('gives each command its own stdout, stderr and exit status, in any number at once', async () => {
    const runs = await Promise.all(Array.from({ length: 30 }, (_, i) => hostCommand('sh', ['-c', `echo out${i}; echo err${i} >&2; exit ${i % 5}`])));
    runs.forEach((r, i) => {
      assert.equal(r.stdout.toString(), `out${i}\n`);
      assert.equal(r.stderr, `err${i}\n`);
      assert.equal(r.code, i % 5);
      assert.equal(r.missing, false);
    });
  });

  it('passes arguments through unchanged: quotes, dollars, spaces, newlines', async () => {
    for (const arg of [`it's "quoted" $HOME \`x\``, ' spaced  out ', 'two\nlines', '']) {
      const r = await hostCommand('printf', ['%s', arg]);
      assert.equal(r.stdout.toString(), arg);
    }
  });

  it('runs in the given directory, and says when a program is not installed', async () => {
    assert.equal((await hostCommand('pwd', [], { cwd: '/usr/share' })).stdout.toString(), '/usr/share\n');
    const r = await hostCommand('tsbuild-no-such-program', []);
    assert.equal(r.missing, true);
    assert.equal(r.code, 127);
  });

  it('keeps large binary output whole', async () => {
    const r = await hostCommand('head', ['-c', '300000', '/dev/urandom']);
    assert.equal(r.stdout.length, 300000);
  });

  it('does not keep node running once its commands are done', async () => {
    const script = `import { hostCommand } from ${JSON.stringify(new URL('./host-commands.ts', import.meta.url).href)};
      const r = await hostCommand('echo', ['done']); process.stdout.write(r.stdout);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    assert.equal(stdout, 'done\n');
  });
});

describe('streamCommand', () => {
  it('hands over output while the program still runs, and its exit status at the end', async () => {
    // the program waits for a file that is only made once its first line has arrived here
    const flag = join(await mkdtemp(join(tmpdir(), 'stream-')), 'go');
    const seen: string[] = [];
    const code = await streamCommand('sh', ['-c', `echo first; echo oops >&2; while [ ! -e '${flag}' ]; do sleep 0.05; done; echo second; exit 3`], (chunk, stream) => {
      seen.push(`${stream}:${chunk.toString()}`);
      if (chunk.toString().includes('first')) writeFileSync(flag, '');
    });
    assert.equal(code, 3);
    assert.equal(seen.filter((s) => s.startsWith('stdout')).join(''), 'stdout:first\nstdout:second\n');
    assert.deepEqual(seen.filter((s) => s.startsWith('stderr')), ['stderr:oops\n']);
    await rm(dirname(flag), { recursive: true });
  });

  it('keeps output that looks like the start of its end marker', async () => {
    const out: Buffer[] = [];
    const code = await streamCommand('printf', ['a\\000\\034b\\000'], (chunk) => out.push(chunk));
    assert.equal(code, 0);
    assert.deepEqual(Buffer.concat(out), Buffer.from('a\x00\x1cb\x00', 'latin1'));
  });

  it('runs programs at the same time, each with its own output', async () => {
    const outs = Array.from({ length: 5 }, () => [] as string[]);
    const codes = await Promise.all(outs.map((out, i) => streamCommand('sh', ['-c', `sleep 0.2; echo run${i}`], (chunk) => out.push(chunk.toString()))));
    assert.deepEqual(codes, [0, 0, 0, 0, 0]);
    outs.forEach((out, i) => assert.equal(out.join(''), `run${i}\n`));
  });

  it('does not make its programs ignore SIGINT (the helper shells for mounts do)', async () => {
    const code = await streamCommand('sh', ['-c', 'kill -INT $$; sleep 5; exit 0'], () => undefined);
    assert.equal(code, 130);
  });

  it('says when a program is not installed', async () => {
    const err: string[] = [];
    assert.equal(await streamCommand('tsbuild-no-such-program', [], (chunk) => err.push(chunk.toString())), 127);
    assert.match(err.join(''), /not found/);
  });
});

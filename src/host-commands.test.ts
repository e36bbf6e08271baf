import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hostCommand } from './host-commands.ts';

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

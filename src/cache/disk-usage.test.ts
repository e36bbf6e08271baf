import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removeTree } from '../remove-tree.ts';
import { diskUsage } from './disk-usage.ts';

describe('diskUsage', () => {
  it('counts allocated bytes as du does, a file linked from two trees once, and missing trees as 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'disk-usage-'));
    try {
      await mkdir(join(dir, 'a/sub'), { recursive: true });
      await mkdir(join(dir, 'b'));
      await writeFile(join(dir, 'a/sub/big'), Buffer.alloc(300_000, 1));
      await link(join(dir, 'a/sub/big'), join(dir, 'b/big'));
      const du = (...args: string[]): number => Number(execFileSync('du', ['-s', '-c', '-B1', ...args]).toString().trimEnd().split('\n').pop()?.split('\t')[0]);
      const a = await diskUsage(join(dir, 'a'));
      assert.equal(a, du(join(dir, 'a')));
      assert.ok(a >= 300_000);
      assert.equal(await diskUsage(join(dir, 'a'), join(dir, 'b'), join(dir, 'missing')), du(join(dir, 'a'), join(dir, 'b')));
      assert.ok((await diskUsage(join(dir, 'a'), join(dir, 'b'))) < 2 * 300_000, 'the linked file counts once');
      assert.equal(await diskUsage(join(dir, 'missing')), 0);
      await removeTree(join(dir, 'a'));
      assert.equal(await diskUsage(join(dir, 'a')), 0);
      await removeTree(join(dir, 'a'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

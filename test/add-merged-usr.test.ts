import assert from 'node:assert/strict';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

/** ADD of an archive onto a merged-/usr rootfs (`lib -> usr/lib`): the links are followed inside the rootfs, as Docker does. */
describe('ADD onto a merged-/usr rootfs', () => {
  let work: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    work = await tempDir();
  });
  after(async () => work.cleanup());

  it('writes lib/x through lib -> usr/lib and keeps the link; absolute links too, also into a subdirectory', async () => {
    const ctx = join(work.path, 'ctx');
    await mustRun('sh', [
      '-ec',
      `mkdir -p '${ctx}/base/usr/lib' '${ctx}/base/usr/lib64' '${ctx}/base/opt/app' '${ctx}/libs/lib' '${ctx}/libs/lib64' '${ctx}/plugins/plug'
       cd '${ctx}/base' && ln -s usr/lib lib && ln -s /usr/lib64 lib64 && ln -s /usr/lib opt/app/plug && tar -cf ../base.tar .
       echo foo > '${ctx}/libs/lib/libfoo.so' && echo ld > '${ctx}/libs/lib64/ld.so' && tar -C '${ctx}/libs' -cf '${ctx}/libs.tar' lib/libfoo.so lib64/ld.so
       echo p > '${ctx}/plugins/plug/p.so' && tar -C '${ctx}/plugins' -cf '${ctx}/plugins.tar' plug/p.so
       printf 'FROM scratch\\nADD base.tar /\\nADD libs.tar /\\nADD plugins.tar /opt/app/\\n' > '${ctx}/Dockerfile'`,
    ]);
    const fs = join(work.path, 'fs');
    const r = await tsbuild(join(work.path, 'root'), ['build', '-o', `type=local,dest=${fs}`, ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(fs, 'usr/lib/libfoo.so'), 'utf8'), 'foo\n');
    assert.equal(readFileSync(join(fs, 'usr/lib64/ld.so'), 'utf8'), 'ld\n');
    assert.equal(readFileSync(join(fs, 'usr/lib/p.so'), 'utf8'), 'p\n', 'an absolute link under the ADD destination resolves from the rootfs');
    assert.ok(lstatSync(join(fs, 'lib')).isSymbolicLink());
    assert.ok(lstatSync(join(fs, 'lib64')).isSymbolicLink());
  });
});

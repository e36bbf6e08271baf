import { BlobStore } from './src/image/blob-store.ts';
import { writeLayer } from './src/image/layer-writer.ts';
import { applyLayer } from './src/image/layer-apply.ts';
import { mkdirSync, rmSync } from 'node:fs';
const store = new BlobStore('/tmp/perf/store');
for (const dir of ['/tmp/perf/src/small', '/tmp/perf/big']) {
  let t = performance.now();
  const l = await writeLayer(dir, store);
  console.log(dir, 'write', ((performance.now() - t) / 1000).toFixed(2));
  rmSync('/tmp/perf/o', { recursive: true, force: true }); mkdirSync('/tmp/perf/o');
  t = performance.now();
  await applyLayer(store.createReadStream(l.descriptor.digest), '/tmp/perf/o', { whiteouts: 'extract' });
  console.log(dir, 'apply', ((performance.now() - t) / 1000).toFixed(2));
}

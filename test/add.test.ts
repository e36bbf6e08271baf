import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBusyboxBase, mustRun, tempDir, tsbuild } from './helpers/tsbuild.ts';

const HELLO = 'hello over http\n';
const MODIFIED = 'Wed, 01 Jan 2020 00:00:00 GMT';

describe('ADD from a URL', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let server: Server;
  let base: string;

  before(async () => {
    work = await tempDir();
    root = join(work.path, 'root');
    await buildBusyboxBase(root, work.path, 'tsbuild.test/busybox:1.35');
    server = createServer((req, res) => {
      if (req.url === '/files/hello.txt') {
        res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': MODIFIED });
        res.end(HELLO);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await work.cleanup();
  });

  async function build(name: string, dockerfile: string): Promise<{ code: number; stderr: string; rootfs: string }> {
    const ctx = join(work.path, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const layout = join(work.path, `${name}-layout`);
    const r = await tsbuild(root, ['build', '-t', `tsbuild.test/${name}:1`, '-o', `type=oci,dest=${layout},tar=false`, ctx]);
    if (r.code === 0) await mustRun('umoci', ['unpack', '--image', `${layout}:1`, join(work.path, `${name}-bundle`)]);
    return { ...r, rootfs: join(work.path, `${name}-bundle/rootfs`) };
  }

  it('downloads into a directory destination, mode 0600, with the server mtime', async () => {
    const sum = `sha256:${createHash('sha256').update(HELLO).digest('hex')}`;
    const r = await build('url', `FROM tsbuild.test/busybox:1.35\nADD ${base}/files/hello.txt /downloads/\nADD --checksum=${sum} ${base}/files/hello.txt /checked.txt\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(r.rootfs, 'downloads/hello.txt'), 'utf8'), HELLO);
    const st = await stat(join(r.rootfs, 'downloads/hello.txt'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.mtime.toUTCString(), MODIFIED);
    assert.equal(await readFile(join(r.rootfs, 'checked.txt'), 'utf8'), HELLO);
  });

  it('refuses content that does not match --checksum, naming the URL', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const r = await build('bad-sum', `FROM tsbuild.test/busybox:1.35\nADD --checksum=${wrong} ${base}/files/hello.txt /x\n`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: Dockerfile:2:1: ADD http:\/\/127\.0\.0\.1:\d+\/files\/hello\.txt: the content does not match --checksum/);
  });

  it('reports an HTTP error with the URL and status', async () => {
    const r = await build('missing', `FROM tsbuild.test/busybox:1.35\nADD ${base}/nothing /x\n`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: Dockerfile:2:1: ADD: http:\/\/127\.0\.0\.1:\d+\/nothing: HTTP 404/);
  });
});

import assert from 'node:assert/strict';
import { createReadStream, existsSync, lstatSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { UserError } from '../errors.ts';
import { BlobStore } from './blob-store.ts';
import { applyLayer } from './layer-apply.ts';
import { layerTar } from './layer-tar.ts';
import { writeLayer } from './layer-writer.ts';
import type { Layer } from './oci.ts';
import { ensureTool, Mounts, NET_BIND_CAP_HEX, sh, snapshotTree } from './test-support.ts';

let tmp: string;
let store: BlobStore;
const mounts = new Mounts();
let dirCount = 0;

async function freshDir(): Promise<string> {
  const d = join(tmp, `d${dirCount++}`);
  await mkdir(d);
  return d;
}

before(async () => {
  ensureTool('getfattr', 'attr');
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-layer-apply-'));
  store = new BlobStore(join(tmp, 'store'));
});

after(async () => {
  mounts.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function blob(layer: Layer): NodeJS.ReadableStream {
  return createReadStream(store.path(layer.descriptor.digest));
}

describe('round trip writeLayer → applyLayer', () => {
  let src: string;
  let layer: Layer;

  before(async () => {
    src = await freshDir();
    sh(`
      cd '${src}'
      mkdir -p usr/bin etc/app empty 'sp ace/ü'
      echo hello > usr/bin/tool && chmod 4755 usr/bin/tool
      echo cfg > etc/app/conf && chown 1234:5678 etc/app/conf && chmod 640 etc/app/conf
      ln -s ../etc/app/conf usr/conf-link
      ln -s /nonexistent/absolute dangling
      echo twin > usr/a && ln usr/a etc/b
      head -c 3000000 /dev/urandom > usr/big.bin
      echo weird > 'sp ace/ü/naïve file'
      mkfifo etc/fifo && mknod usr/null c 1 3
      echo cap > usr/bin/capped && setfattr -n security.capability -v ${NET_BIND_CAP_HEX} usr/bin/capped
      setfattr -n user.meta -v 0x00ff10 etc/app/conf
      chmod 1777 empty && chown 42:43 empty
      touch -h -d '2001-02-03 04:05:06' usr/conf-link
      find . -mindepth 1 ! -type l -exec touch -d '2010-01-01 00:00:00' {} +
    `);
    layer = await writeLayer(src, store);
  });

  for (const mode of ['overlay', 'extract'] as const) {
    test(`${mode} mode reproduces the tree and the diffId`, async () => {
      const dest = await freshDir();
      const { diffId } = await applyLayer(blob(layer), dest, { whiteouts: mode, expectDiffId: layer.diffId });
      assert.equal(diffId, layer.diffId);
      assert.deepEqual(snapshotTree(dest, { dirTimes: true }), snapshotTree(src, { dirTimes: true }));
    });
  }

  test('plain (uncompressed) tar is accepted and hashes the same', async () => {
    const dest = await freshDir();
    const plain = join(tmp, 'plain.tar');
    sh(`gunzip -c '${store.path(layer.descriptor.digest)}' > '${plain}'`);
    const { diffId } = await applyLayer(createReadStream(plain), dest, { whiteouts: 'extract' });
    assert.equal(diffId, layer.diffId);
  });

  test('a diffId mismatch is a UserError', async () => {
    const dest = await freshDir();
    await assert.rejects(
      applyLayer(blob(layer), dest, { whiteouts: 'overlay', expectDiffId: `sha256:${'0'.repeat(64)}` }),
      (e) => e instanceof UserError && /diffId mismatch/.test(e.message),
    );
  });
});

describe('whiteouts', () => {
  let lower: string;
  let layer: Layer;

  before(async () => {
    lower = await freshDir();
    const upper = await freshDir();
    const work = await freshDir();
    const merged = await freshDir();
    sh(`
      cd '${lower}'
      echo a > a && echo b > b && mkdir -p d/sub && echo x > d/x && echo y > d/sub/y
    `);
    mounts.overlay([lower], merged, { upper, work });
    sh(`cd '${merged}' && rm a && rm -rf d && mkdir d && echo z > d/z && echo c > c`);
    mounts.unmount(merged);
    layer = await writeLayer(upper, store);
  });

  test('overlay mode: whiteouts hide lower files when mounted as lowers', async () => {
    const layerDir = await freshDir();
    await applyLayer(blob(layer), layerDir, { whiteouts: 'overlay', expectDiffId: layer.diffId });
    const wh = lstatSync(join(layerDir, 'a'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a is a 0:0 char device');
    assert.ok(!existsSync(join(layerDir, '.wh.a')));
    assert.match(sh(`getfattr -n trusted.overlay.opaque '${layerDir}/d'`), /trusted\.overlay\.opaque="y"/);
    const merged = await freshDir();
    mounts.overlay([layerDir, lower], merged);
    try {
      assert.deepEqual(sh(`cd '${merged}' && find . | sort`).trim().split('\n'), ['.', './b', './c', './d', './d/z']);
      assert.equal(readFileSync(join(merged, 'd/z'), 'utf8'), 'z\n');
    } finally {
      mounts.unmount(merged);
    }
  });

  test('extract mode: whiteouts delete from the existing tree', async () => {
    const tree = await freshDir();
    sh(`cp -a '${lower}/.' '${tree}/'`);
    await applyLayer(blob(layer), tree, { whiteouts: 'extract' });
    assert.deepEqual(sh(`cd '${tree}' && find . | sort`).trim().split('\n'), ['.', './b', './c', './d', './d/z']);
  });

  test('extract mode: an opaque marker after its siblings keeps what this layer wrote', async () => {
    const tree = await freshDir();
    sh(`mkdir -p '${tree}/d' && echo old > '${tree}/d/old'`);
    const tar = await packTar([
      { header: { name: 'd/', type: 'directory', mode: 0o755 } },
      { header: { name: 'd/new', mode: 0o644 }, body: 'new' },
      { header: { name: 'd/.wh..wh..opq', mode: 0o644 }, body: '' },
    ]);
    await applyLayer(Readable.from([tar]), tree, { whiteouts: 'extract' });
    assert.deepEqual(sh(`cd '${tree}' && find . | sort`).trim().split('\n'), ['.', './d', './d/new']);
  });
});

/**
 * Overlay mode onto file systems that refuse the overlay form: overlayfs
 * refuses 0:0 devices, ramfs every xattr. The diff dir holds markers for
 * what was refused, and gives back the same layer.
 */
describe('overlay mode where the file system refuses the overlay form', () => {
  let layer: Layer;
  const ramfs: string[] = [];

  before(async () => {
    const src = await freshDir();
    sh(`cd '${src}' && echo b > b && mkdir -p d && echo z > d/z && mknod a c 0 0 && setfattr -n trusted.overlay.opaque -v y d`);
    layer = await writeLayer(src, store);
  });
  after(() => {
    for (const dir of ramfs) sh(`umount '${dir}'`);
  });

  async function dirOn(fs: 'tmpdir' | 'overlayfs' | 'ramfs'): Promise<string> {
    const dir = await freshDir();
    if (fs === 'overlayfs') mounts.overlay([await freshDir()], dir, { upper: await freshDir(), work: await freshDir() });
    if (fs === 'ramfs') {
      sh(`mount -t ramfs ramfs '${dir}'`);
      ramfs.push(dir);
    }
    return dir;
  }

  /** The layer tar of a diff dir, all its times set alike first. */
  async function retarred(dir: string): Promise<Buffer> {
    sh(`find '${dir}' -exec touch -h -d '2020-01-01 00:00:00' {} +`);
    const chunks: Buffer[] = [];
    for await (const c of layerTar(dir)) chunks.push(c);
    return Buffer.concat(chunks);
  }

  const isMarker = (path: string): boolean => {
    const st = lstatSync(path, { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && st.size === 0 && (st.mode & 0o7777) === 0;
  };

  test('markers just where the overlay form is refused, and the same layer back', async () => {
    const tars = new Map<string, Buffer>();
    for (const fs of ['tmpdir', 'overlayfs', 'ramfs'] as const) {
      const dir = await dirOn(fs);
      await applyLayer(blob(layer), dir, { whiteouts: 'overlay', expectDiffId: layer.diffId });
      assert.equal(isMarker(join(dir, '.wh.a')), fs === 'overlayfs', `${fs}: whiteout marker`);
      assert.equal(lstatSync(join(dir, 'a'), { throwIfNoEntry: false })?.isCharacterDevice() ?? false, fs !== 'overlayfs', `${fs}: whiteout device`);
      assert.equal(isMarker(join(dir, 'd/.wh..wh..opq')), fs === 'ramfs', `${fs}: opaque marker`);
      tars.set(fs, await retarred(dir));
    }
    assert.ok(tars.get('overlayfs')?.equals(tars.get('tmpdir') as Buffer), 'overlayfs gives the tmpdir bytes');
    assert.ok(tars.get('ramfs')?.equals(tars.get('tmpdir') as Buffer), 'ramfs gives the tmpdir bytes');
  });

  test('an entry replacing an earlier whiteout of the same layer removes its marker', async () => {
    const dir = await dirOn('ramfs');
    const over = await dirOn('overlayfs');
    const tar = await packTar([
      { header: { name: '.wh.x', mode: 0 }, body: '' },
      { header: { name: 'x/', type: 'directory', mode: 0o755 } },
      { header: { name: 'x/new', mode: 0o644 }, body: 'new' },
      { header: { name: '.wh.y', mode: 0 }, body: '' },
      { header: { name: 'y', mode: 0o644 }, body: 'y' },
    ]);
    for (const target of [dir, over]) await applyLayer(Readable.from([tar]), target, { whiteouts: 'overlay' });
    assert.deepEqual(sh(`cd '${over}' && find . | sort`).trim().split('\n'), ['.', './x', './x/new', './y']);
    assert.match(sh(`getfattr -n trusted.overlay.opaque '${over}/x'`), /trusted\.overlay\.opaque="y"/, 'a directory over a whiteout is opaque');
    assert.deepEqual(sh(`cd '${dir}' && find . | sort`).trim().split('\n'), ['.', './x', './x/.wh..wh..opq', './x/new', './y']);
  });
});

interface FakeEntry {
  header: Partial<tarStream.Header> & { name: string };
  body?: string;
}

async function packTar(entries: FakeEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry(e.header, e.body ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

describe('hostile archives', () => {
  let outside: string;

  before(async () => {
    outside = await freshDir();
    sh(`echo secret > '${outside}/secret'`);
  });

  async function applyEvil(
    entries: FakeEntry[],
    dest?: string,
    whiteouts: 'extract' | 'overlay' = 'extract',
  ): Promise<{ dest: string; result: Promise<unknown> }> {
    const target = dest ?? (await freshDir());
    const tar = await packTar(entries);
    return { dest: target, result: applyLayer(Readable.from([gzipSync(tar)]), target, { whiteouts }) };
  }

  const isUserError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message);

  test('../ escapes are rejected', async () => {
    const escapeName = `escape-${process.pid}`;
    const { result } = await applyEvil([{ header: { name: `../${escapeName}` }, body: 'x' }]);
    await assert.rejects(result, isUserError(/outside the target directory/));
    assert.ok(!existsSync(join(tmp, escapeName)));
  });

  test('absolute paths are contained inside the target', async () => {
    const name = `tsbuild-abs-${process.pid}`;
    const { dest, result } = await applyEvil([{ header: { name: `/${name}` }, body: 'x' }]);
    await result;
    assert.ok(!existsSync(`/${name}`));
    assert.equal(readFileSync(join(dest, name), 'utf8'), 'x');
  });

  test('overlay mode: writing through a symlink planted by an earlier entry is rejected, naming the entry', async () => {
    const { result } = await applyEvil(
      [
        { header: { name: 'evil', type: 'symlink', linkname: outside } },
        { header: { name: 'evil/pwned' }, body: 'x' },
      ],
      undefined,
      'overlay',
    );
    await assert.rejects(result, isUserError(/"evil\/pwned" goes through the symlink evil/));
    assert.ok(!existsSync(join(outside, 'pwned')));
  });

  test('overlay mode: writing through a symlink in the existing tree is rejected', async () => {
    const dest = await freshDir();
    sh(`ln -s '${outside}' '${dest}/lnk'`);
    const { result } = await applyEvil([{ header: { name: 'lnk/pwned' }, body: 'x' }], dest, 'overlay');
    await assert.rejects(result, isUserError(/"lnk\/pwned" goes through the symlink lnk/));
    assert.ok(!existsSync(join(outside, 'pwned')));
  });

  test('extract mode: planted symlinks are followed as in a chroot, never out of the target', async () => {
    const { dest, result } = await applyEvil([
      { header: { name: 'abs', type: 'symlink', linkname: outside } },
      { header: { name: 'abs/pwned1' }, body: 'x' },
      { header: { name: 'up', type: 'symlink', linkname: '../../../../../../..' } },
      { header: { name: 'up/pwned2' }, body: 'y' },
      { header: { name: 'loop', type: 'symlink', linkname: 'loop' } },
    ]);
    await result;
    assert.ok(!existsSync(join(outside, 'pwned1')));
    assert.equal(readFileSync(join(dest, outside, 'pwned1'), 'utf8'), 'x', 'the absolute target is taken inside the target');
    assert.equal(readFileSync(join(dest, 'pwned2'), 'utf8'), 'y', '.. stops at the target root');
    const looping = await applyEvil([{ header: { name: 'loop/x' }, body: 'z' }], dest);
    await assert.rejects(looping.result, isUserError(/"loop\/x": too many levels of symbolic links/));
  });

  test('extract mode: symlinks already in the tree are followed inside it', async () => {
    const dest = await freshDir();
    sh(`ln -s '${outside}' '${dest}/lnk'`);
    const { result } = await applyEvil([{ header: { name: 'lnk/pwned' }, body: 'x' }], dest);
    await result;
    assert.ok(!existsSync(join(outside, 'pwned')));
    assert.equal(readFileSync(join(dest, outside, 'pwned'), 'utf8'), 'x');
  });

  test('a file entry replaces a planted symlink instead of following it', async () => {
    const { dest, result } = await applyEvil([
      { header: { name: 'victim', type: 'symlink', linkname: join(outside, 'secret') } },
      { header: { name: 'victim' }, body: 'overwritten' },
    ]);
    await result;
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'secret\n');
    assert.ok(lstatSync(join(dest, 'victim')).isFile());
  });

  test('hardlinks to outside files are rejected', async () => {
    for (const linkname of [`../${outside.split('/').pop()}/secret`, join(outside, 'secret')]) {
      const { result } = await applyEvil([{ header: { name: 'hl', type: 'link', linkname } }]);
      await assert.rejects(result, (e) => e instanceof UserError, linkname);
    }
    for (const whiteouts of ['extract', 'overlay'] as const) {
      const { result } = await applyEvil(
        [
          { header: { name: 'root', type: 'symlink', linkname: '/' } },
          { header: { name: 'hl', type: 'link', linkname: 'root/etc/passwd' } },
        ],
        undefined,
        whiteouts,
      );
      await assert.rejects(result, isUserError(/"hl"/), whiteouts);
    }
    assert.equal(lstatSync('/etc/passwd').nlink, 1);
  });

  test('unsupported compression is a clear UserError', async () => {
    const dest = await freshDir();
    await assert.rejects(
      applyLayer(Readable.from([Buffer.from('BZh91AY&SY')]), dest, { whiteouts: 'extract' }),
      isUserError(/bzip2/),
    );
  });

  test('a corrupt archive is a UserError', async () => {
    const dest = await freshDir();
    await assert.rejects(
      applyLayer(Readable.from([Buffer.alloc(512, 'x')]), dest, { whiteouts: 'extract' }),
      isUserError(/checksum/),
    );
  });
});

describe('extract mode onto a merged-/usr tree', () => {
  test('ADD of an archive with lib/ and lib64/ paths goes through lib -> usr/lib and lib64 -> /usr/lib64', async () => {
    const rootfs = await freshDir();
    sh(`cd '${rootfs}' && mkdir -p usr/lib usr/lib64 opt && ln -s usr/lib lib && ln -s /usr/lib64 lib64`);
    const tar = await packTar([
      { header: { name: 'lib/libfoo.so' }, body: 'foo' },
      { header: { name: 'lib64/ld.so' }, body: 'ld' },
      { header: { name: 'bin/sh', mode: 0o755 }, body: 'sh' },
    ]);
    await applyLayer(Readable.from([tar]), rootfs, { whiteouts: 'extract' });
    assert.equal(readFileSync(join(rootfs, 'usr/lib/libfoo.so'), 'utf8'), 'foo');
    assert.equal(readFileSync(join(rootfs, 'usr/lib64/ld.so'), 'utf8'), 'ld');
    assert.ok(lstatSync(join(rootfs, 'lib')).isSymbolicLink(), 'the link itself is kept');
    assert.ok(lstatSync(join(rootfs, 'lib64')).isSymbolicLink());
  });

  test('with a scope, a subdirectory target resolves absolute links from the rootfs', async () => {
    const rootfs = await freshDir();
    sh(`cd '${rootfs}' && mkdir -p usr/lib opt && ln -s /usr/lib opt/l`);
    const tar = await packTar([{ header: { name: 'l/x' }, body: 'x' }]);
    await applyLayer(Readable.from([tar]), join(rootfs, 'opt'), { whiteouts: 'extract', scope: rootfs });
    assert.equal(readFileSync(join(rootfs, 'usr/lib/x'), 'utf8'), 'x');
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlobStore } from './blob-store.ts';
import { writeLayer } from './layer-writer.ts';
import { MediaType, type Layer } from './oci.ts';
import { ensureTool, Mounts, NET_BIND_CAP_HEX, sh } from './test-support.ts';

const LONG = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(90)}.txt`;

let tmp: string;
let upper: string;
let store: BlobStore;
const mounts = new Mounts();

before(async () => {
  ensureTool('getfattr', 'attr');
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-layer-writer-'));
  upper = join(tmp, 'upper');
  store = new BlobStore(join(tmp, 'store'));
  const lower = join(tmp, 'lower');
  const merged = join(tmp, 'merged');
  sh(`
    cd '${tmp}' && mkdir lower upper work merged
    echo keep > lower/keep.txt
    echo gone > lower/deleted.txt
    mkdir -p lower/redo lower/etc && echo old > lower/redo/old1 && echo old > lower/redo/old2
    echo conf > lower/etc/conf
  `);
  mounts.overlay([lower], merged, { upper, work: join(tmp, 'work') });
  sh(`
    cd '${merged}'
    rm deleted.txt
    rm -rf redo && mkdir redo && echo new > redo/new
    echo added > added.txt && setfattr -n user.note -v hello added.txt
    ln -s ../etc/conf link
    echo same > hard1 && ln hard1 hard2
    echo root > suid && chown 0:0 suid && chmod 4755 suid
    echo cap > capped && setfattr -n security.capability -v ${NET_BIND_CAP_HEX} capped
    mkfifo pipe
    python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
    mkdir -p "$(dirname '${LONG}')" && echo long > '${LONG}'
    echo edited >> etc/conf && chown 1234:5678 etc/conf
  `);
  mounts.unmount(merged);
});

after(async () => {
  mounts.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Listed {
  perms: string;
  owner: string;
  size: number;
  name: string;
  target?: string;
}

function listing(layer: Layer): Listed[] {
  const out = sh(`tar --numeric-owner -tvzf '${store.path(layer.descriptor.digest)}'`);
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(\S+)\s+(\S+)\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
      assert.ok(m, line);
      const [, perms = '', owner = '', size = '0', rest = ''] = m;
      const arrow = rest.match(/^(.*?) (->|link to) (.*)$/);
      return { perms, owner, size: Number(size), name: arrow?.[1] ?? rest, ...(arrow && { target: arrow[3] }) };
    });
}

describe('writeLayer on a real overlay upper dir', () => {
  let layer: Layer;
  let entries: Listed[];
  const byName = (name: string): Listed => {
    const e = entries.find((x) => x.name === name);
    assert.ok(e, `no tar entry ${name}; have ${entries.map((x) => x.name).join(' ')}`);
    return e;
  };

  before(async () => {
    layer = await writeLayer(upper, store);
    entries = listing(layer);
  });

  test('descriptor and diffId hash the stored blob and the plain tar', () => {
    const blob = store.path(layer.descriptor.digest);
    assert.equal(layer.descriptor.mediaType, MediaType.layerGzip);
    assert.equal(`sha256:${sh(`sha256sum '${blob}'`).split(' ')[0]}`, layer.descriptor.digest);
    assert.equal(Number(sh(`stat -c %s '${blob}'`).trim()), layer.descriptor.size);
    assert.equal(`sha256:${sh(`gunzip -c '${blob}' | sha256sum`).split(' ')[0]}`, layer.diffId);
  });

  test('gzip header has no name and mtime 0 (and says "fastest", the default level 1)', () => {
    const head = sh(`head -c 10 '${store.path(layer.descriptor.digest)}' | od -An -tx1`).replace(/\s+/g, ' ').trim();
    assert.equal(head, '1f 8b 08 00 00 00 00 00 04 03');
  });

  test('deleted file becomes a .wh. file, not a device', () => {
    const wh = byName('.wh.deleted.txt');
    assert.equal(wh.perms[0], '-');
    assert.equal(wh.size, 0);
    assert.ok(!entries.some((e) => e.name === 'deleted.txt'));
  });

  test('recreated dir is opaque, marker right after the dir entry', () => {
    const i = entries.findIndex((e) => e.name === 'redo/');
    assert.ok(i >= 0);
    assert.equal(entries[i + 1]?.name, 'redo/.wh..wh..opq');
    assert.equal(entries[i + 2]?.name, 'redo/new');
    assert.ok(!entries.some((e) => e.name.startsWith('redo/old')));
  });

  test('symlink, hardlink, setuid, fifo, ownership, long name; socket skipped', () => {
    assert.equal(byName('link').target, '../etc/conf');
    assert.equal(byName('link').perms[0], 'l');
    assert.equal(byName('hard1').perms[0], '-');
    assert.equal(byName('hard2').perms[0], 'h');
    assert.equal(byName('hard2').target, 'hard1');
    assert.equal(byName('suid').perms, '-rwsr-xr-x');
    assert.equal(byName('pipe').perms[0], 'p');
    assert.equal(byName('etc/conf').owner, '1234/5678');
    assert.equal(byName(LONG).size, 5);
    assert.ok(!entries.some((e) => e.name === 'sock'));
    assert.ok(!entries.some((e) => e.name === 'keep.txt'), 'unchanged lower files are not in the diff');
  });

  test('entries are sorted, relative, parents first, dirs end with /', () => {
    const seen = new Set<string>();
    for (const e of entries) {
      assert.ok(!e.name.startsWith('/') && !e.name.startsWith('./'), e.name);
      const parent = e.name.replace(/\/$/, '').replace(/[^/]+$/, '');
      if (parent) assert.ok(seen.has(parent), `${e.name} before its parent`);
      if (e.perms[0] === 'd') assert.ok(e.name.endsWith('/'), e.name);
      seen.add(e.name);
    }
    const top = entries.filter((e) => !e.name.replace(/\/$/, '').includes('/')).map((e) => e.name.replace(/\/$/, ''));
    assert.deepEqual(top, [...top].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  test('user and capability xattrs kept, overlay ones never', () => {
    const verbose = sh(`tar --xattrs --xattrs-include='*' -tvvzf '${store.path(layer.descriptor.digest)}'`);
    assert.match(verbose, /user\.note/);
    assert.match(verbose, /security\.capability/);
    assert.doesNotMatch(verbose, /trusted\.overlay/);
    const out = join(tmp, 'gnu-extract');
    sh(`mkdir '${out}' && tar --xattrs --xattrs-include='*' -xzf '${store.path(layer.descriptor.digest)}' -C '${out}'`);
    assert.match(sh(`getfattr -n security.capability -e hex '${out}/capped'`), new RegExp(NET_BIND_CAP_HEX));
    assert.match(sh(`getfattr -n user.note '${out}/added.txt'`), /user\.note="hello"/);
  });

  test('writing twice gives identical digests', async () => {
    const again = await writeLayer(upper, store);
    assert.deepEqual(again, layer);
  });

  test('sourceDateEpoch clamps every mtime', async () => {
    const clamped = await writeLayer(upper, store, { sourceDateEpoch: 1_000_000_000 });
    const times = sh(`tar --full-time -tvzf '${store.path(clamped.descriptor.digest)}' | awk '{print $4" "$5}' | sort -u`).trim();
    assert.equal(times, sh(`TZ= date -d @1000000000 '+%Y-%m-%d %H:%M:%S'`).trim());
    assert.notEqual(clamped.diffId, layer.diffId);
  });
});

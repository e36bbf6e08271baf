import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCacheFrom, parseCacheTo } from './cache-spec.ts';
import { parseDuration, parseSize } from './units.ts';

describe('--cache-from and --cache-to specs', () => {
  it('reads registry and local specs, with docker buildx defaults', () => {
    assert.deepEqual(parseCacheFrom('type=registry,ref=127.0.0.1:5000/app/cache:main'), {
      type: 'registry',
      ref: { registry: '127.0.0.1:5000', repository: 'app/cache', tag: 'main' },
    });
    assert.equal(parseCacheFrom('registry.example/app:cache').type, 'registry');
    assert.deepEqual(parseCacheFrom('type=local,src=/tmp/c'), { type: 'local', src: '/tmp/c' });
    assert.deepEqual(parseCacheTo('type=local,dest=/tmp/c'), { type: 'local', dest: '/tmp/c', mode: 'min', ignoreError: false });
    const to = parseCacheTo('type=registry,ref=r.example/a:c,mode=max,ignore-error=true');
    assert.equal(to.mode, 'max');
    assert.equal(to.ignoreError, true);
  });

  it('refuses what it does not know, naming the spec', () => {
    assert.throws(() => parseCacheTo('type=registry,ref=r/a,mode=all'), /--cache-to type=registry,ref=r\/a,mode=all: mode must be min or max/);
    assert.throws(() => parseCacheFrom('type=gha'), /unknown type "gha"/);
    assert.throws(() => parseCacheFrom('type=local'), /src= is required/);
    assert.throws(() => parseCacheTo('type=local,dest=/x,compression=zstd'), /unknown attribute "compression"/);
    assert.throws(() => parseCacheFrom('type=registry,ref=UPPER/Case'), /--cache-from/);
  });
});

describe('sizes and durations', () => {
  it('reads docker-style sizes', () => {
    assert.equal(parseSize('1000'), 1000);
    assert.equal(parseSize('10GB'), 10e9);
    assert.equal(parseSize('512mb'), 512e6);
    assert.equal(parseSize('1.5g'), 1.5e9);
    assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
    assert.throws(() => parseSize('ten'), /invalid size "ten"/);
  });

  it('reads Go-style durations, plus days and weeks', () => {
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration('2.5s'), 2500);
    assert.throws(() => parseDuration('5 minutes'), /invalid duration/);
    assert.throws(() => parseDuration('10'), /invalid duration/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameHash } from './name-hash.ts';

describe('nameHash', () => {
  it('is FNV-1a 64 over UTF-8 (the published test values)', () => {
    assert.equal(nameHash(''), 'cbf29ce484222325');
    assert.equal(nameHash('a'), 'af63dc4c8601ec8c');
    assert.equal(nameHash('foobar'), '85944171f73967e8');
  });

  it('hashes the UTF-8 bytes of any text', () => {
    assert.notEqual(nameHash('é'), nameHash('e'));
    assert.match(nameHash('/ctx\0/ctx/Dockerfile\0target'), /^[0-9a-f]{16}$/);
  });
});

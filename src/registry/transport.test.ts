import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenge } from './auth.ts';
import { isLoopbackRegistry, registryBaseUrl } from './session.ts';

test('loopback registries are spoken to over http, others over https', () => {
  for (const host of ['127.0.0.1:5000', '127.1.2.3', 'localhost', 'localhost:5000', '[::1]:5000', '[::1]']) {
    assert.equal(isLoopbackRegistry(host), true, host);
    assert.equal(registryBaseUrl(host), `http://${host}`);
  }
  for (const host of ['registry.example:5000', '128.0.0.1:5000', '10.0.0.1', 'localhost.example', '127.0.0.1.nip.io']) {
    assert.equal(isLoopbackRegistry(host), false, host);
    assert.equal(registryBaseUrl(host), `https://${host}`);
  }
});

test("Docker Hub's API lives on registry-1.docker.io", () => {
  assert.equal(registryBaseUrl('docker.io'), 'https://registry-1.docker.io');
});

test('parses Bearer and Basic challenges', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  assert.deepEqual(parseChallenge('Bearer realm=unquoted, error="a \\"b\\""'), { scheme: 'bearer', params: { realm: 'unquoted', error: 'a "b"' } });
  assert.equal(parseChallenge(null), undefined);
  assert.equal(parseChallenge('  '), undefined);
});

test('hosts given as insecure are spoken to over http, with or without their port', () => {
  const insecure = ['registry.lan:5000', 'http://build-cache.lan/', 'other.lan'];
  assert.equal(registryBaseUrl('registry.lan:5000', insecure), 'http://registry.lan:5000');
  assert.equal(registryBaseUrl('registry.lan:5001', insecure), 'https://registry.lan:5001');
  assert.equal(registryBaseUrl('build-cache.lan', insecure), 'http://build-cache.lan');
  assert.equal(registryBaseUrl('other.lan:443', insecure), 'http://other.lan:443');
  assert.equal(registryBaseUrl('public.example', insecure), 'https://public.example');
});

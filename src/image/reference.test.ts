import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../errors.ts';
import { familiarName, formatReference, parseReference } from './reference.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test("Docker's normalisation", () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.35', 'docker.io/library/busybox:1.35', 'busybox:1.35'],
    ['team/app', 'docker.io/team/app:latest', 'team/app:latest'],
    ['docker.io/library/app:1', 'docker.io/library/app:1', 'app:1'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['127.0.0.1:5000/team/app:v2', '127.0.0.1:5000/team/app:v2', '127.0.0.1:5000/team/app:v2'],
    [`host:5000/app:tag@${DIGEST}`, `host:5000/app:tag@${DIGEST}`, 'host:5000/app:tag'],
    [`app@${DIGEST}`, `docker.io/library/app@${DIGEST}`, 'app'],
    ['a.b/c/d/e:1', 'a.b/c/d/e:1', 'a.b/c/d/e:1'],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = parseReference(input);
    assert.equal(formatReference(ref), full, input);
    assert.equal(familiarName(ref), familiar, input);
  }
  assert.deepEqual(parseReference('host:5000/app'), { registry: 'host:5000', repository: 'app', tag: 'latest' });
});

test('invalid references are one-line UserErrors saying why', () => {
  const cases: [string, RegExp][] = [
    ['', /repository name is empty/],
    ['App', /"App" must be lowercase/],
    ['app:bad tag', /tag "bad tag" is not valid/],
    ['app@sha256:abc', /digest must be sha256/],
    ['team//app', /component "" must be/],
    ['host:5000/', /repository name is empty/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseReference(input), (e) => e instanceof UserError && message.test(e.message) && e.message.includes(JSON.stringify(input)), input);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Descriptor, Platform } from '../image/oci.ts';
import { choosePlatform, formatPlatform } from './platform.ts';

const entry = (n: number, platform?: Platform): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: n,
  ...(platform && { platform }),
});

const attestation = entry(1);
const armV6 = entry(2, { os: 'linux', architecture: 'arm', variant: 'v6' });
const armV7 = entry(3, { os: 'linux', architecture: 'arm', variant: 'v7' });
const arm64 = entry(4, { os: 'linux', architecture: 'arm64', variant: 'v8' });
const amd64 = entry(5, { os: 'linux', architecture: 'amd64' });
const windows = entry(6, { os: 'windows', architecture: 'amd64' });

test('takes the entry whose os and architecture match', () => {
  const all = [attestation, windows, armV6, armV7, arm64, amd64];
  assert.equal(choosePlatform(all, { os: 'linux', architecture: 'amd64' }), amd64);
  assert.equal(choosePlatform(all, { os: 'windows', architecture: 'amd64' }), windows);
});

test('arm64 with and without v8 are the same platform', () => {
  assert.equal(choosePlatform([arm64], { os: 'linux', architecture: 'arm64' }), arm64);
  const unlabelled = entry(7, { os: 'linux', architecture: 'arm64' });
  assert.equal(choosePlatform([unlabelled], { os: 'linux', architecture: 'arm64', variant: 'v8' }), unlabelled);
});

test('a requested variant must match; without one the first listed wins', () => {
  assert.equal(choosePlatform([armV6, armV7], { os: 'linux', architecture: 'arm', variant: 'v7' }), armV7);
  assert.equal(choosePlatform([armV6, armV7], { os: 'linux', architecture: 'arm' }), armV6);
  assert.equal(choosePlatform([armV6], { os: 'linux', architecture: 'arm', variant: 'v7' }), undefined);
});

test('entries without a platform never match', () => {
  assert.equal(choosePlatform([attestation], { os: 'linux', architecture: 'amd64' }), undefined);
});

test('formats as os/arch[/variant]', () => {
  assert.equal(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), 'linux/arm64/v8');
  assert.equal(formatPlatform({ os: 'linux', architecture: 'amd64' }), 'linux/amd64');
});

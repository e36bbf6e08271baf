import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { makeBusyboxLayout, pushBase } from './helpers/base-image.ts';
import { startRegistry, type TestRegistry } from './helpers/registry.ts';
import { tempDir, tsbuild } from './helpers/tsbuild.ts';

const exec = promisify(execFile);

/** This machine's first non-loopback IPv4 address: tsbuild speaks plain http to loopback registries, HTTPS to others. */
function outsideAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this test needs a non-loopback IPv4 address to serve HTTPS on; the machine has none');
}

/** A certificate authority and a server certificate it signed for `ip`, made with openssl. */
async function makeCertificates(dir: string, ip: string): Promise<{ ca: string; certificate: string; key: string }> {
  const f = (name: string): string => join(dir, name);
  const openssl = (args: string[]): Promise<unknown> => exec('openssl', args);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=tsbuild test CA']);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${ip}`]);
  await writeFile(f('san.ext'), `subjectAltName=IP:${ip}\n`);
  await openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('san.ext')]);
  return { ca: f('ca.pem'), certificate: f('server.pem'), key: f('server.key') };
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let registry: TestRegistry;
let ca: string;

before(async () => {
  tmp = await tempDir();
  const certs = await makeCertificates(tmp.path, outsideAddress());
  ca = certs.ca;
  registry = await startRegistry({ address: outsideAddress(), tls: certs });
  await pushBase(registry.host, await makeBusyboxLayout(join(tmp.path, 'layout')));
});

after(async () => {
  await registry?.stop();
  await tmp?.cleanup();
});

test('NODE_EXTRA_CA_CERTS is trusted for registries over HTTPS, though bin/tsbuild keeps node from loading it at start-up', async () => {
  const ref = `${registry.host}/busybox:1.35`;
  const trusted = await tsbuild(join(tmp.path, 'root-a'), ['pull', ref], { env: { NODE_EXTRA_CA_CERTS: ca } });
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.match(trusted.stdout, /^sha256:[a-f0-9]{64}\n$/);

  const untrusted = await tsbuild(join(tmp.path, 'root-b'), ['pull', ref], { env: { NODE_EXTRA_CA_CERTS: '' } });
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /certificate/i);
  assert.equal(untrusted.stderr.split('\n').filter(Boolean).at(-1)?.startsWith('error: '), true, untrusted.stderr);
});

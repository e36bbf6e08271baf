import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import { BlobStore } from '../image/blob-store.ts';
import { parseReference } from '../image/reference.ts';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.ts';
import { startRegistryProxy, type RegistryProxy } from '../../test/helpers/registry-proxy.ts';
import { skopeo } from '../../test/helpers/skopeo.ts';
import { makeSyntheticImage, type SyntheticImage } from '../../test/helpers/synthetic-image.ts';
import { startTokenServer, type TokenServer } from '../../test/helpers/token-server.ts';
import { dockerCredentials, login, pullImage, pushImage, RegistrySession, type CredentialLookup, type PushProgress } from './client.ts';

const USER = 'alice';
/** Random per run, so finding it anywhere in an output can only mean a leak. */
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-secret`;
const WRONG = `wrong-${Math.random().toString(36).slice(2)}`;
const IDENTITY_TOKEN = `refresh-${Math.random().toString(36).slice(2)}`;

let tmp: string;
let store: BlobStore;
let image: SyntheticImage;
let stores = 0;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-auth-test-'));
  store = new BlobStore(join(tmp, 'store'));
  image = await makeSyntheticImage(store, { layerSizes: [100_000, 50_000], seed: 'auth-test' });
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function freshStore(): BlobStore {
  return new BlobStore(join(tmp, `store-${++stores}`));
}

const withPassword = (password: string): CredentialLookup => () => Promise.resolve({ username: USER, password, source: 'the test' });

/** Asserts `p` rejects with a UserError matching `pattern` that holds no trace of either password. */
async function rejectsCleanly(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(e.message, pattern);
    for (const secret of [PASSWORD, WRONG, Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), Buffer.from(`${USER}:${WRONG}`).toString('base64')]) {
      assert.ok(!e.message.includes(secret) && !String(e.stack).includes(secret), 'a credential leaked into the error');
    }
    return true;
  });
}

describe('HTTP Basic (docker-registry with htpasswd)', () => {
  let reg: TestRegistry;
  let proxy: RegistryProxy;

  before(async () => {
    reg = await startRegistry({ basicAuth: { username: USER, password: PASSWORD } });
    proxy = await startRegistryProxy(reg.host);
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
  });

  test('push and pull with the login from config.json; skopeo with the same login sees the same digest', async () => {
    const configDir = join(tmp, 'docker-basic');
    await mkdir(configDir);
    await writeFile(join(configDir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
    const credentials = dockerCredentials(configDir);

    await pushImage(store, image.manifest, parseReference(`${reg.host}/private/app:1`), { credentials });
    const pulled = await pullImage(parseReference(`${reg.host}/private/app:1`), freshStore(), { credentials });
    assert.equal(pulled.manifest.digest, image.manifest.digest);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${reg.host}/private/app:1`]);
    assert.equal(JSON.parse(raw.toString()).config.digest, image.config.digest);
  });

  test('without credentials: a one-line error naming registry, repository and 401, after one request', async () => {
    const from = proxy.requests.length;
    await rejectsCleanly(
      pullImage(parseReference(`${proxy.host}/private/app:1`), freshStore(), { credentials: () => Promise.resolve(undefined) }),
      new RegExp(`^${proxy.host}/private/app:1: authentication required: no credentials for ${proxy.host} \\(run tsbuild login ${proxy.host}\\) \\(HTTP 401\\)$`),
    );
    assert.equal(proxy.requests.length - from, 1);
  });

  test('a wrong password: a clear error, and only two requests (anonymous, then Basic once)', async () => {
    const from = proxy.requests.length;
    await rejectsCleanly(
      pullImage(parseReference(`${proxy.host}/private/app:1`), freshStore(), { credentials: withPassword(WRONG) }),
      new RegExp(`^${proxy.host}/private/app:1: the credentials for ${proxy.host} from the test were refused or lack access \\(HTTP 401\\)$`),
    );
    const sent = proxy.requests.slice(from);
    assert.equal(sent.length, 2);
    assert.equal(sent[0]?.headers.authorization, undefined);
    assert.match(sent[1]?.headers.authorization ?? '', /^Basic /);
  });

  test('a wrong password on push fails the same way, with no retry storm', async () => {
    const from = proxy.requests.length;
    await rejectsCleanly(
      pushImage(store, image.manifest, parseReference(`${proxy.host}/private/other:1`), { credentials: withPassword(WRONG) }),
      /private\/other:1: blob sha256:[0-9a-f]{64}: the credentials for .* were refused or lack access \(HTTP 401\)$/,
    );
    // three blobs are checked in parallel before the first refusal lands; each tries Basic once at most
    assert.ok(proxy.requests.length - from <= 6, `${proxy.requests.length - from} requests`);
  });

  test('once the registry asked for Basic, later requests send it up front', async () => {
    const session = new RegistrySession({ credentials: withPassword(PASSWORD) });
    await pullImage(parseReference(`${proxy.host}/private/app:1`), freshStore(), { session });
    const from = proxy.requests.length;
    await pullImage(parseReference(`${proxy.host}/private/app:1`), freshStore(), { session });
    const sent = proxy.requests.slice(from);
    assert.ok(sent.length >= 4);
    assert.ok(sent.every((r) => r.status !== 401 && r.headers.authorization?.startsWith('Basic ')));
  });
});

describe('Bearer tokens (a token server in front of a real registry)', () => {
  let reg: TestRegistry;
  let auth: TokenServer;

  before(async () => {
    reg = await startRegistry();
    auth = await startTokenServer(reg.host, { username: USER, password: PASSWORD, identityToken: IDENTITY_TOKEN });
  });
  after(async () => {
    await auth?.stop();
    await reg?.stop();
  });

  test('push then pull: one token per scope set, reused for every request of the session', async () => {
    const session = new RegistrySession({ credentials: withPassword(PASSWORD) });
    const events: PushProgress[] = [];
    await pushImage(store, image.manifest, parseReference(`${auth.host}/team/app:1`), { session, onProgress: (e) => events.push(e) });
    assert.equal(events.filter((e) => e.type === 'blob-done').length, 3);
    await pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { session });
    const from = auth.requests.length;
    const pulled = await pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { session });
    assert.equal(pulled.manifest.digest, image.manifest.digest);

    assert.deepEqual(auth.tokenRequests, [
      { scopes: ['repository:team/app:pull,push'], authenticated: true },
      { scopes: ['repository:team/app:pull'], authenticated: true },
    ]);
    const again = auth.requests.slice(from);
    assert.ok(again.length >= 4 && again.every((r) => r.status !== 401 && r.path !== '/token'), 'the second pull reused the token');
  });

  test('a cross-repository mount asks for a token covering both repositories', async () => {
    const session = new RegistrySession({ credentials: withPassword(PASSWORD) });
    const tokensBefore = auth.tokenRequests.length;
    const from = auth.requests.length;
    const source = { registry: auth.host, repository: 'team/app' };
    const knownLocations = new Map([image.config, ...image.layers].map((b) => [b.digest, [source]]));
    const events: PushProgress[] = [];
    await pushImage(store, image.manifest, parseReference(`${auth.host}/team/copy:1`), { session, knownLocations, onProgress: (e) => events.push(e) });
    assert.equal(events.filter((e) => e.type === 'blob-mounted').length, 3);
    assert.ok(auth.requests.slice(from).some((r) => r.query.startsWith('mount=') && r.status === 201));
    assert.deepEqual(
      auth.tokenRequests.slice(tokensBefore).map((t) => t.scopes),
      [['repository:team/copy:pull,push'], ['repository:team/copy:pull,push', 'repository:team/app:pull']],
    );
  });

  test('a token the registry stops accepting is replaced once, and the request goes through', async () => {
    const session = new RegistrySession({ credentials: withPassword(PASSWORD) });
    await pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { session });
    const tokensBefore = auth.tokenRequests.length;
    auth.revokeAll();
    const pulled = await pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { session });
    assert.equal(pulled.manifest.digest, image.manifest.digest);
    assert.equal(auth.tokenRequests.length - tokensBefore, 1);
  });

  test('wrong credentials: a clear error after one registry request and one token request', async () => {
    const from = auth.requests.length;
    const tokensBefore = auth.tokenRequests.length;
    await rejectsCleanly(
      pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { credentials: withPassword(WRONG) }),
      new RegExp(`^token server http://${auth.host}/token for ${auth.host}: the credentials from the test were refused \\(HTTP 401\\)$`),
    );
    assert.equal(auth.tokenRequests.length - tokensBefore, 1);
    assert.equal(auth.requests.slice(from).filter((r) => r.path !== '/token').length, 1);
  });

  test('an identity token is exchanged with the OAuth2 refresh-token POST', async () => {
    const tokensBefore = auth.tokenRequests.length;
    const credentials: CredentialLookup = () => Promise.resolve({ identityToken: IDENTITY_TOKEN, source: 'the test' });
    const pulled = await pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { credentials });
    assert.equal(pulled.manifest.digest, image.manifest.digest);
    assert.deepEqual(auth.tokenRequests.slice(tokensBefore), [{ scopes: ['repository:team/app:pull'], authenticated: true }]);
  });

  test('login checks the credentials against the token server, then saves them', async () => {
    const configDir = join(tmp, 'docker-bearer-login');
    await rejectsCleanly(
      login(auth.host, USER, WRONG, { configDir }),
      new RegExp(`^token server http://${auth.host}/token for ${auth.host}: the credentials from the login were refused \\(HTTP 401\\)$`),
    );
    assert.equal(await login(auth.host, USER, PASSWORD, { configDir }), join(configDir, 'config.json'));
    const pulled = await pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { credentials: dockerCredentials(configDir) });
    assert.equal(pulled.manifest.digest, image.manifest.digest);
  });

  test('no credentials: the token server refuses the anonymous request; the error says to log in', async () => {
    await rejectsCleanly(
      pullImage(parseReference(`${auth.host}/team/app:1`), freshStore(), { credentials: () => Promise.resolve(undefined) }),
      new RegExp(`authentication required \\(HTTP 401\\); no credentials for ${auth.host} \\(run tsbuild login ${auth.host}\\)$`),
    );
  });
});

describe('Bearer token expiry', () => {
  let reg: TestRegistry;
  let auth: TokenServer;

  before(async () => {
    reg = await startRegistry();
    auth = await startTokenServer(reg.host, { username: USER, password: PASSWORD, expiresIn: 1 });
  });
  after(async () => {
    await auth?.stop();
    await reg?.stop();
  });

  test('a token past its expires_in is not sent again: a new one is fetched first', async () => {
    const session = new RegistrySession({ credentials: withPassword(PASSWORD) });
    await pushImage(store, image.manifest, parseReference(`${auth.host}/short:1`), { session });
    const tokensBefore = auth.tokenRequests.length;
    await sleep(1100);
    const from = auth.requests.length;
    await pushImage(store, image.manifest, parseReference(`${auth.host}/short:1`), { session });
    assert.equal(auth.tokenRequests.length - tokensBefore, 1);
    assert.ok(auth.requests.slice(from).every((r) => r.status !== 401), 'no request went out with the expired token');
  });
});

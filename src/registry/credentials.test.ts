import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import { dockerCredentials, removeCredentials, saveCredentials } from './credentials.ts';
import { dockerConfigDir, registryOfKey, serverKey } from './docker-config.ts';

/** A real credential helper (a shell script speaking the protocol), put on PATH for these tests. */
const HELPER_DIR = fileURLToPath(new URL('../../fixtures/registry/', import.meta.url));
const HELPER = 'tsbuild-test';

let tmp: string;
let dir: string;
let helperStore: string;
const savedEnv = { PATH: process.env.PATH, DOCKER_CONFIG: process.env.DOCKER_CONFIG, TSBUILD_TEST_CRED_STORE: process.env.TSBUILD_TEST_CRED_STORE };

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-credentials-test-'));
  helperStore = join(tmp, 'helper-store');
  process.env.PATH = `${HELPER_DIR}:${process.env.PATH ?? ''}`;
  process.env.TSBUILD_TEST_CRED_STORE = helperStore;
});

after(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let dirs = 0;
beforeEach(async () => {
  dir = join(tmp, `docker-${++dirs}`);
  await mkdir(dir);
  await rm(helperStore, { recursive: true, force: true });
});

const writeConfig = (config: unknown): Promise<void> => writeFile(join(dir, 'config.json'), JSON.stringify(config));
const readConfig = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('reading logins the way Docker does', () => {
  test('auths: base64 auth, username/password fields, identity and registry tokens', async () => {
    await writeConfig({
      auths: {
        'a.example': { auth: b64('ann:pa:ss') },
        'https://b.example/v1/': { username: 'bob', password: 'pw' },
        'c.example:5000': { identitytoken: 'refresh-me' },
        'd.example': { registrytoken: 'ready' },
        'e.example': {},
      },
    });
    const lookup = dockerCredentials(dir);
    const source = join(dir, 'config.json');
    assert.deepEqual(await lookup('a.example'), { username: 'ann', password: 'pa:ss', source });
    assert.deepEqual(await lookup('b.example'), { username: 'bob', password: 'pw', source });
    assert.deepEqual(await lookup('c.example:5000'), { identityToken: 'refresh-me', source });
    assert.deepEqual(await lookup('d.example'), { registryToken: 'ready', source });
    assert.equal(await lookup('e.example'), undefined);
    assert.equal(await lookup('f.example'), undefined);
  });

  test('Docker Hub is filed under its v1 URL', async () => {
    await writeConfig({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } });
    assert.deepEqual(await dockerCredentials(dir)('docker.io'), { username: 'hub', password: 'pw', source: join(dir, 'config.json') });
    assert.equal(serverKey('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(registryOfKey('https://registry-1.docker.io/'), 'docker.io');
    assert.equal(registryOfKey('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  });

  test('credHelpers, then credsStore, through the docker-credential program; a token user means an identity token', async () => {
    await writeConfig({ credHelpers: { 'own.example': HELPER, 'tok.example': HELPER }, credsStore: HELPER });
    await saveCredentials('own.example', 'via-own', 'secret-1', dir);
    await saveCredentials('store.example', 'via-store', 'secret-2', dir);
    await saveCredentials('tok.example', '<token>', 'refresh-2', dir);
    // the helper wins over whatever auths says
    await writeConfig({ ...(await readConfig()), auths: { 'own.example': { auth: b64('file:ignored') } } });
    const lookup = dockerCredentials(dir);
    assert.deepEqual(await lookup('own.example'), { username: 'via-own', password: 'secret-1', source: `docker-credential-${HELPER}` });
    assert.deepEqual(await lookup('store.example'), { username: 'via-store', password: 'secret-2', source: `docker-credential-${HELPER}` });
    assert.deepEqual(await lookup('tok.example'), { identityToken: 'refresh-2', source: `docker-credential-${HELPER}` });
    assert.equal(await lookup('nothing.example'), undefined);
  });

  test('a helper that is not installed is passed over for what auths has', async () => {
    await writeConfig({ credsStore: 'not-installed-anywhere', auths: { 'a.example': { auth: b64('ann:pw') } } });
    assert.deepEqual(await dockerCredentials(dir)('a.example'), { username: 'ann', password: 'pw', source: join(dir, 'config.json') });
  });

  test('a config that is not JSON is a UserError naming the file; a missing one means no logins', async () => {
    assert.equal(await dockerCredentials(dir)('a.example'), undefined);
    await writeFile(join(dir, 'config.json'), '{"auths": ');
    await assert.rejects(dockerCredentials(dir)('a.example'), (e: unknown) => e instanceof UserError && e.message === `${join(dir, 'config.json')} is not valid JSON`);
  });

  test('$DOCKER_CONFIG names the directory, else ~/.docker', () => {
    process.env.DOCKER_CONFIG = dir;
    assert.equal(dockerConfigDir(), dir);
    delete process.env.DOCKER_CONFIG;
    assert.match(dockerConfigDir(), /\/\.docker$/);
  });
});

describe('saving and removing logins', () => {
  test('into config.json: base64 auth, mode 0600, other settings kept, no temp file left', async () => {
    await writeConfig({ auths: { 'https://a.example/': { auth: b64('old:old') } }, psFormat: 'table {{.ID}}' });
    assert.equal(await saveCredentials('a.example', 'ann', 'new-pw', dir), join(dir, 'config.json'));
    assert.deepEqual(await readConfig(), { auths: { 'a.example': { auth: b64('ann:new-pw') } }, psFormat: 'table {{.ID}}' });
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['config.json']);

    assert.equal(await removeCredentials('a.example', dir), true);
    assert.deepEqual(await readConfig(), { auths: {}, psFormat: 'table {{.ID}}' });
    assert.equal(await removeCredentials('a.example', dir), false);
  });

  test('creates the directory and file when there are none', async () => {
    const fresh = join(dir, 'new', 'docker');
    await saveCredentials('127.0.0.1:5000', 'ann', 'pw', fresh);
    assert.equal((await stat(fresh)).mode & 0o777, 0o700);
    assert.deepEqual(await dockerCredentials(fresh)('127.0.0.1:5000'), { username: 'ann', password: 'pw', source: join(fresh, 'config.json') });
  });

  test('into the configured credential helper, leaving only an empty auths entry in the file', async () => {
    await writeConfig({ credsStore: HELPER });
    assert.equal(await saveCredentials('h.example', 'ann', 'kept-in-helper', dir), `docker-credential-${HELPER}`);
    const text = await readFile(join(dir, 'config.json'), 'utf8');
    assert.ok(!text.includes('kept-in-helper') && !text.includes(b64('ann:kept-in-helper')));
    assert.deepEqual(await readConfig(), { credsStore: HELPER, auths: { 'h.example': {} } });
    assert.equal((await dockerCredentials(dir)('h.example'))?.password, 'kept-in-helper');

    assert.equal(await removeCredentials('h.example', dir), true);
    assert.equal(await dockerCredentials(dir)('h.example'), undefined);
  });
});

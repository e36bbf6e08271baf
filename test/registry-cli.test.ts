import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BlobStore } from '../src/image/blob-store.ts';
import { ImageStore } from '../src/image/image-store.ts';
import { parseReference } from '../src/image/reference.ts';
import { pushImage } from '../src/registry/client.ts';
import { startRegistry, type TestRegistry } from './helpers/registry.ts';
import { servedManifestDigest, skopeo } from './helpers/skopeo.ts';
import { makeSyntheticImage, type SyntheticImage } from './helpers/synthetic-image.ts';
import { tempDir, tsbuild, type CliResult } from './helpers/tsbuild.ts';

const USER = 'carol';
/** Random per run, so finding it in any output can only mean a leak. */
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-cli`;
const SECRETS = [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

let work: { path: string; cleanup: () => Promise<void> };
let open: TestRegistry;
let basic: TestRegistry;
let image: SyntheticImage;
/** Everything every command printed, checked for credentials at the end. */
const printed: string[] = [];

before(async () => {
  work = await tempDir('tsbuild-registry-cli-');
  [open, basic] = await Promise.all([startRegistry(), startRegistry({ basicAuth: { username: USER, password: PASSWORD } })]);
  // an image tsbuild has never seen, in the open registry, via a scratch store
  const scratch = new BlobStore(join(work.path, 'scratch'));
  image = await makeSyntheticImage(scratch, { layerSizes: [120_000, 80_000], seed: 'registry-cli' });
  await pushImage(scratch, image.manifest, parseReference(`${open.host}/source/app:1`));
});

after(async () => {
  await Promise.all([open?.stop(), basic?.stop()]);
  await work?.cleanup();
});

/** Runs `bin/tsbuild` with its own root and Docker config dir, `stdin` piped in; keeps what it printed. */
async function cli(args: readonly string[], stdin = ''): Promise<CliResult> {
  const r = await tsbuild(join(work.path, 'root'), args, { env: { DOCKER_CONFIG: join(work.path, 'docker') }, stdin });
  printed.push(r.stdout, r.stderr);
  return r;
}

test('pull, login, push with mount, logout: the CLI end to end, and no credential in any output', async () => {
  const pulled = await cli(['pull', `${open.host}/source/app:1`]);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(pulled.stdout, `${image.manifest.digest}\n`);
  assert.match(pulled.stderr, /pulled 0\.1 MB/);
  const images = new ImageStore(join(work.path, 'root', 'images'));
  assert.equal((await images.resolve(parseReference(`${open.host}/source/app:1`)))?.digest, image.manifest.digest);

  const missing = await cli(['pull', `${open.host}/source/app:9`]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `pulling ${open.host}/source/app:9\nerror: ${open.host}/source/app:9: manifest unknown (HTTP 404)\n`);

  // the same image under names on the Basic registry, as `build -t` would leave them
  for (const name of ['team/app:1', 'team/copy:1']) await images.tag(parseReference(`${basic.host}/${name}`), image.manifest);

  const anonymous = await cli(['push', `${basic.host}/team/app:1`]);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, new RegExp(`error: ${basic.host}/team/app:1: blob sha256:[0-9a-f]{64}: authentication required: no credentials for ${basic.host} \\(run tsbuild login ${basic.host}\\) \\(HTTP 401\\)\n$`));

  const wrong = await cli(['login', '-u', USER, '--password-stdin', basic.host], 'not-the-password\n');
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, `error: registry ${basic.host}: login: the credentials for ${basic.host} from the login were refused or lack access (HTTP 401)\n`);

  const login = await cli(['login', '-u', USER, '--password-stdin', `http://${basic.host}/`], `${PASSWORD}\n`);
  assert.equal(login.code, 0, login.stderr);
  assert.equal(login.stdout, 'Login Succeeded\n');
  const configPath = join(work.path, 'docker', 'config.json');
  assert.equal((await stat(configPath)).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { auths: { [basic.host]: { auth: SECRETS[1] } } });

  const pushed = await cli(['push', `${basic.host}/team/app:1`]);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.equal(pushed.stdout, `${image.manifest.digest}\n`);
  assert.equal((pushed.stderr.match(/: pushed /g) ?? []).length, 3);
  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${basic.host}/team/app:1`]);
  assert.equal(JSON.parse(raw.toString()).config.digest, image.config.digest);

  // the local store knows these blobs are in team/app on the same registry: mounted, not sent
  const copied = await cli(['push', `${basic.host}/team/copy:1`]);
  assert.equal(copied.code, 0, copied.stderr);
  assert.equal((copied.stderr.match(new RegExp(`: mounted from ${basic.host}/team/app\n`, 'g')) ?? []).length, 3);

  const logout = await cli(['logout', basic.host]);
  assert.equal(logout.code, 0);
  assert.equal(logout.stderr, `removed the login for ${basic.host}\n`);
  assert.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { auths: {} });
  assert.equal((await cli(['logout', basic.host])).stderr, `not logged in to ${basic.host}\n`);

  for (const text of printed) for (const secret of SECRETS) assert.ok(!text.includes(secret), `a credential was printed:\n${text}`);
  assert.equal(await servedManifestDigest(open.host, 'source/app:1'), image.manifest.digest);
});

/**
 * A real, throwaway OCI registry for tests: Debian's `docker-registry`
 * (distribution 2.x) on a free loopback port, storing into a fresh temp dir.
 *
 *   const reg = await startRegistry();
 *   after(() => reg.stop());
 *   await pushBase(reg.host, await makeBusyboxLayout(tmp));   // base-image.ts
 *   await pullImage(parseReference(`${reg.host}/busybox:1.35`), store);
 *
 * Plain http on 127.0.0.1, no auth unless `basicAuth` is given (then an
 * htpasswd file with that one user, bcrypt as the registry requires). Each
 * call starts its own registry, so tests in one file can run in parallel
 * without seeing each other's pushes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TestRegistry {
  /** `127.0.0.1:PORT`: use it as the registry part of references. */
  host: string;
  /** Kills the registry and deletes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** How long to wait for `GET /v2/` to answer; default 15 s. */
  timeoutMs?: number;
  /** Demand HTTP Basic auth (htpasswd) with this one user. Needs `htpasswd` (apache2-utils). */
  basicAuth?: { username: string; password: string };
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certificate: string; key: string };
  /** The IPv4 address to listen on; default 127.0.0.1. */
  address?: string;
}

/** Registries still running, killed on exit so a test that forgets stop() cannot leak one. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `docker-registry serve` on a free port and resolves once it answers
 * `GET /v2/`. Rejects with the registry's stderr when it exits early or does
 * not answer in time. The port is found by binding port 0 and releasing it,
 * so another process can grab it in between: a start that loses that race
 * (address in use) is retried on a new port.
 */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  try {
    const htpasswd = opts.basicAuth && (await writeHtpasswd(dir, opts.basicAuth));
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOn(dir, `${opts.address ?? '127.0.0.1'}:${await freePort()}`, opts, htpasswd);
      } catch (e) {
        if (!(e instanceof PortTaken) || attempt >= 3) throw e;
      }
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

class PortTaken extends Error {}

async function writeHtpasswd(dir: string, user: { username: string; password: string }): Promise<string> {
  const entry = await new Promise<string>((resolve, reject) => {
    execFile('htpasswd', ['-Bbn', user.username, user.password], (err, stdout, stderr) => {
      if (err) reject(new Error(`htpasswd failed (apt-get install -y apache2-utils): ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
  const path = join(dir, 'htpasswd');
  await writeFile(path, entry);
  return path;
}

async function startOn(dir: string, host: string, opts: StartRegistryOptions, htpasswd: string | undefined): Promise<TestRegistry> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const configPath = join(dir, 'config.yml');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      ...(opts.tls ? ['  tls:', `    certificate: ${opts.tls.certificate}`, `    key: ${opts.tls.key}`] : []),
      ...(htpasswd ? ['auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${htpasswd}`] : []),
      '',
    ].join('\n'),
  );

  const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    // keep the tail only: a registry that runs for a whole test file can log a lot
    stderr = (stderr + s).slice(-8192);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ? `signal ${signal}` : `code ${code}`);
    });
    child.once('error', (e) => {
      running.delete(child);
      resolve(e.message);
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    const early = await Promise.race([exited, sleep(50).then(() => undefined)]);
    if (early !== undefined) {
      const hint = /ENOENT/.test(early) ? ' (apt-get install -y docker-registry)' : '';
      const message = `docker-registry exited (${early}) before answering on ${host}${hint}${tail(stderr)}`;
      if (/address already in use/i.test(stderr)) throw new PortTaken(message);
      throw new Error(message);
    }
    try {
      const status = await pingV2(host, opts.tls !== undefined);
      // with htpasswd, 401 is the registry answering as configured
      if ((status >= 200 && status < 300) || (htpasswd && status === 401)) return { host, stop };
      lastProblem = `GET /v2/ answered HTTP ${status}`;
    } catch (e) {
      lastProblem = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry on ${host} did not answer GET /v2/ within ${timeoutMs} ms (${lastProblem})${tail(stderr)}`);
    }
  }
}

/** The status of `GET /v2/`; over HTTPS without checking the certificate (the caller made it). */
function pingV2(host: string, tls: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsGet : httpGet)(`${tls ? 'https' : 'http'}://${host}/v2/`, { timeout: 1000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

function tail(stderr: string): string {
  return stderr.trim() ? `; its stderr:\n${stderr.trim()}` : '';
}

/** A loopback TCP port nothing is listening on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { displayUrl, send } from './http.ts';

/** Two loopback servers: `a` redirects as each test says, `b` (another origin) records what reached it. */
let a: Server;
let b: Server;
let aUrl: string;
let bUrl: string;
let aHandler: RequestListener = (_req, res) => res.end();
const reachedB: { method: string; headers: IncomingHttpHeaders; body: string }[] = [];

async function listen(handler: RequestListener): Promise<[Server, string]> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
}

before(async () => {
  [a, aUrl] = await listen((req, res) => aHandler(req, res));
  [b, bUrl] = await listen((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      reachedB.push({ method: req.method ?? '', headers: req.headers, body });
      res.end('from b');
    });
  });
});

after(() => {
  a?.closeAllConnections();
  b?.closeAllConnections();
  a?.close();
  b?.close();
});

test('a redirect to another origin is followed without the Authorization header', async () => {
  aHandler = (_req, res) => res.writeHead(307, { location: `${bUrl}/storage/blob?sig=1` }).end();
  const res = await send(`${aUrl}/v2/app/blobs/x`, () => ({ headers: { authorization: 'Bearer secret-token', range: 'bytes=5-' } }));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'from b');
  assert.equal(res.url, `${bUrl}/storage/blob?sig=1`);
  const reached = reachedB.at(-1);
  assert.equal(reached?.headers.authorization, undefined);
  assert.equal(reached?.headers.range, 'bytes=5-');
});

test('a redirect within the origin keeps the Authorization header', async () => {
  aHandler = (req, res) => {
    if (req.url === '/first') return res.writeHead(302, { location: '/second' }).end();
    res.end(String(req.headers.authorization));
  };
  const res = await send(`${aUrl}/first`, () => ({ headers: { authorization: 'Basic abc' } }));
  assert.equal(await res.text(), 'Basic abc');
});

test('307 sends the body again; 303 turns the request into a bodiless GET', async () => {
  aHandler = (_req, res) => res.writeHead(307, { location: `${bUrl}/put` }).end();
  await send(`${aUrl}/upload`, () => ({ method: 'PUT', body: Buffer.from('payload') }));
  assert.deepEqual([reachedB.at(-1)?.method, reachedB.at(-1)?.body], ['PUT', 'payload']);

  aHandler = (_req, res) => res.writeHead(303, { location: `${bUrl}/done` }).end();
  await send(`${aUrl}/upload`, () => ({ method: 'POST', body: Buffer.from('payload') }));
  assert.deepEqual([reachedB.at(-1)?.method, reachedB.at(-1)?.body], ['GET', '']);
});

test('a redirect loop ends with an error', async () => {
  aHandler = (_req, res) => res.writeHead(302, { location: '/again' }).end();
  await assert.rejects(send(`${aUrl}/again`, () => ({})), /more than 10 redirects/);
});

test('URLs in messages lose their user info and query', () => {
  assert.equal(displayUrl('https://user:secret@auth.example:8443/token?service=x&scope=y'), 'https://auth.example:8443/token');
});

/**
 * A scripted HTTP server on a loopback port, for registry behaviour a real
 * registry will not produce on demand: wrong digests, auth challenges,
 * truncated bodies, odd status codes.
 *
 *   const fake = await startFakeRegistry({
 *     'GET /v2/app/manifests/1': (_req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer realm="x"' }).end(),
 *   });
 *   after(() => fake.stop());
 *   await pullImage(parseReference(`${fake.host}/app:1`), store);   // rejects: authentication
 *
 * Unrouted requests get a registry-style 404. Every request's
 * `METHOD PATH` is recorded in `requests`, in arrival order.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FakeRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  requests: string[];
  stop(): Promise<void>;
}

/** Starts the server; `routes` maps `METHOD /path` (no query string) to a handler. */
export async function startFakeRegistry(routes: Record<string, FakeHandler>): Promise<FakeRegistry> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const key = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
    requests.push(key);
    const handler = routes[key];
    if (handler) return handler(req, res);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'not routed in fake registry' }] }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

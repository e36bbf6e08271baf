/**
 * A loopback HTTP proxy in front of a real test registry, for faults a
 * registry will not produce on demand: 500s, connections cut mid-body,
 * ignored Range headers. Each request goes to `intercept`, which either
 * answers it itself or forwards it (whole, or cut off after some bytes).
 *
 *   const proxy = await startRegistryProxy(reg.host, (c) => {
 *     if (c.req.method === 'GET' && c.path.endsWith('/manifests/1.35') && c.seen === 1) {
 *       return c.answer(500, 'boom');
 *     }
 *     c.forward();
 *   });
 *   await pullImage(parseReference(`${proxy.host}/busybox:1.35`), store);
 *
 * Requests keep their Host header, so the registry's upload Locations point
 * back at the proxy. Every request is recorded, with the status it got.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string, without `?`. */
  query: string;
  headers: IncomingHttpHeaders;
  /** The status sent back (0 when the connection was cut before any). */
  status: number;
}

export interface ProxyContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  /** How many requests with this method and path arrived so far, this one included. */
  seen: number;
  /** Answers without the registry. */
  answer(status: number, body?: string, headers?: Record<string, string>): void;
  /**
   * Sends the request on to the registry (with `headers` replaced, e.g. a
   * Range header removed) and its answer back; with `cutAfterBytes`, the
   * answer's body is cut off by destroying the connection after that many bytes.
   */
  forward(opts?: { cutAfterBytes?: number; headers?: IncomingHttpHeaders }): void;
}

export interface RegistryProxy {
  /** `127.0.0.1:PORT`: use it as the registry part of references. */
  host: string;
  requests: ProxiedRequest[];
  stop(): Promise<void>;
}

/**
 * Starts the proxy in front of the registry at `target` (`127.0.0.1:PORT`),
 * listening on 127.0.0.1, or on `bind` (`0.0.0.0` to be reachable under
 * names that are not loopback ones).
 */
export async function startRegistryProxy(
  target: string,
  intercept: (c: ProxyContext) => void = (c) => c.forward(),
  bind = '127.0.0.1',
): Promise<RegistryProxy> {
  const [targetHost, targetPort] = target.split(':') as [string, string];
  const requests: ProxiedRequest[] = [];
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const method = req.method ?? 'GET';
    const record: ProxiedRequest = { method, path, query, headers: req.headers, status: 0 };
    requests.push(record);
    const key = `${method} ${path}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    intercept({
      req,
      res,
      method,
      path,
      seen: seen.get(key) ?? 1,
      answer(status, body = '', headers = {}) {
        record.status = status;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body);
      },
      forward(opts = {}) {
        const upstream = request(
          { host: targetHost, port: Number(targetPort), method, path: req.url, headers: opts.headers ?? req.headers },
          (up) => {
            record.status = up.statusCode ?? 0;
            res.writeHead(up.statusCode ?? 502, up.headers);
            const cut = opts.cutAfterBytes;
            if (cut === undefined) {
              up.pipe(res);
              return;
            }
            let sent = 0;
            up.on('data', (chunk: Buffer) => {
              if (sent >= cut) return;
              const part = chunk.subarray(0, cut - sent);
              sent += part.length;
              res.write(part);
              if (sent >= cut) {
                up.destroy();
                // let the bytes leave before the connection drops
                setTimeout(() => res.socket?.destroy(), 20);
              }
            });
          },
        );
        upstream.on('error', () => res.socket?.destroy());
        req.pipe(upstream);
      },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, bind, resolve);
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

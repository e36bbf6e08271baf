/**
 * The loopback HTTP server `ADD <url>` fixtures download from: serves the
 * files under `fixtures/conformance/_served/` read-only, with a fixed
 * Last-Modified (ADD takes the file's mtime from it), on a free port.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { FIXTURES_DIR } from './fixtures.ts';

const ROOT = join(FIXTURES_DIR, '_served');
const LAST_MODIFIED = 'Wed, 01 Jan 2020 00:00:00 GMT';

export interface FileServer {
  /** `http://127.0.0.1:PORT`; fixtures get it as the build arg FILES_URL. */
  url: string;
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startFileServer(): Promise<FileServer> {
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    readFile(join(ROOT, path)).then(
      (body) => {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Last-Modified': LAST_MODIFIED });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

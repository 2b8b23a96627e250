// Serves the app over HTTP/1.1 on Node.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

/** Anything that answers a Request, as a Hono app does (whatever its Env type). */
export type FetchHandler = { fetch: (request: Request) => Response | Promise<Response> };

export type ApiServer = { url: string; close(): Promise<void> };

export function startApiServer(app: FetchHandler, port: number, hostname = '127.0.0.1'): Promise<ApiServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: (request) => app.fetch(request), port, hostname }, (info: AddressInfo) =>
      resolve({
        url: `http://${hostname}:${info.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    );
    // Node closes an idle keep-alive socket after 5 s by default. When a process shares its event loop with a worker
    // (`ratchet dev`, the tests) a training step can hold the loop for longer; on waking, a client's next request can
    // go out on a socket the server's overdue timer then closes: ECONNRESET (seen in test/integration/minilm-job).
    // 65 s, as load balancers in front of Node servers are advised to use; the headers timeout must exceed it.
    Object.assign(server, { keepAliveTimeout: 65_000, headersTimeout: 66_000 });
    server.once('error', (error) => reject(new Error(`api: cannot listen on ${hostname}:${port}: ${error.message}`)));
  });
}

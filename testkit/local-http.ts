import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 and a free port, for the stand-ins of GitHub's services and webhooks. */
export interface LocalHttpServer {
  server: Server;
  baseUrl: string;
  /** Drops kept-alive connections too, so a test run never waits on an idle socket. */
  stop(): Promise<void>;
}

/** With `tls`, an https server (for tests of clients that must reach GitHub over TLS, through proxies). */
export async function listenLocal(
  handler: RequestListener,
  tls?: { cert: string; key: string },
): Promise<LocalHttpServer> {
  const server: Server = tls ? createTlsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    baseUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 and a free port, for the stand-ins of GitHub's services and webhooks. */
export interface LocalHttpServer {
  server: Server;
  baseUrl: string;
  /** Drops kept-alive connections too, so a test run never waits on an idle socket. */
  stop(): Promise<void>;
}

export async function listenLocal(handler: RequestListener): Promise<LocalHttpServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

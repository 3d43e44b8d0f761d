import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/**
 * A real forward proxy on 127.0.0.1, as a self-hosted runner's network has one: CONNECT tunnels
 * for https, absolute-form requests for plain http, optional Basic proxy authentication. It
 * resolves host names only from its own table (so a name there is reachable through the proxy and
 * nowhere else) and records every request it relayed.
 */
export interface ProxiedRequest {
  method: string;
  /** "host:port" for CONNECT, the absolute URL otherwise. */
  target: string;
  authorization?: string;
}

export interface TestProxy {
  url: string;
  seen: ProxiedRequest[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** Host names (as in the request: "[::1]" with brackets) and the address each stands for. */
  hosts: Record<string, string>;
  /** "user:password" the proxy demands (407 without it). */
  credentials?: string;
}

function splitAuthority(authority: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(authority);
  if (!match) throw new Error(`bad authority ${authority}`);
  return { host: match[1], port: Number(match[2]) };
}

export async function startTestProxy(options: ProxyOptions): Promise<TestProxy> {
  const seen: ProxiedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const expected = options.credentials ? `Basic ${Buffer.from(options.credentials).toString('base64')}` : undefined;
  const resolve = (host: string) => options.hosts[host.toLowerCase()];
  const authorized = (request: http.IncomingMessage) =>
    !expected || request.headers['proxy-authorization'] === expected;
  const record = (request: http.IncomingMessage, target: string) =>
    seen.push({ method: request.method ?? '', target, authorization: request.headers['proxy-authorization'] });

  const server = http.createServer((request, response) => {
    const target = request.url ?? '';
    record(request, target);
    if (!authorized(request)) {
      response.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"' }).end();
      return;
    }
    const url = new URL(target);
    const address = resolve(url.hostname);
    if (!address) {
      response.writeHead(502).end(`unknown host ${url.hostname}`);
      return;
    }
    const headers = { ...request.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(
      {
        host: address,
        port: Number(url.port) || 80,
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => response.writeHead(502).end(error.message));
    request.pipe(upstream);
  });

  server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = request.url ?? '';
    record(request, target);
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (!authorized(request)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\n\r\n');
      return;
    }
    const { host, port } = splitAuthority(target);
    const address = resolve(host);
    if (!address) {
      client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\nunknown host ${host}`);
      return;
    }
    const upstream = net.connect(port, address, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

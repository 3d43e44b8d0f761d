import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, runProcess } from '../../../shared/process.js';

/**
 * Real HTTP(S) servers on 127.0.0.1 inside the test process, for the behaviours the smoke test must
 * handle: slow starts, flapping, hanging, redirects, self-signed certificates. Each records the
 * requests it saw, so tests can assert what the action actually sent.
 */

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
  /** When the client closed the connection (recorded by servers that never answer). */
  closedAt?: number;
}

export interface TestServer {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (request: SeenRequest, response: http.ServerResponse) => void;

function listen(
  server: http.Server | https.Server,
  protocol: 'http' | 'https',
  requests: SeenRequest[],
): Promise<TestServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${protocol}://127.0.0.1:${port}`,
        port,
        requests,
        close: () =>
          new Promise<void>((done) => {
            // Hanging requests never end on their own: cut them so close() returns.
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function collect(handler: Handler, requests: SeenRequest[]) {
  return (request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const seen: SeenRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(seen);
      handler(seen, response);
    });
  };
}

export function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  return listen(http.createServer(collect(handler, requests)), 'http', requests);
}

export function json(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** 503 until `readyAfterMs` has passed since the first request, then 200 with a health body. */
export function startSlowStarter(readyAfterMs: number, version = 'v1.2.0'): Promise<TestServer> {
  let firstAt: number | undefined;
  return startServer((request, response) => {
    firstAt ??= request.at;
    if (request.at - firstAt < readyAfterMs) return json(response, 503, { status: 'starting' });
    json(response, 200, { status: 'ok', version });
  });
}

/** Answers 200, 500, 200, 500... */
export function startFlapper(): Promise<TestServer> {
  let count = 0;
  return startServer((_request, response) => {
    count++;
    json(response, count % 2 === 1 ? 200 : 500, { status: count % 2 === 1 ? 'ok' : 'error', count });
  });
}

/** Accepts connections and reads requests, and never answers. */
export function startHanger(): Promise<TestServer> {
  return startServer((request, response) => {
    response.on('close', () => {
      request.closedAt = Date.now();
    });
  });
}

export interface Certificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1/localhost (or the names given), valid for `days`, made with openssl. */
export async function selfSignedCertificate(
  days: number,
  subjectAltName = 'IP:127.0.0.1,DNS:localhost',
): Promise<Certificate> {
  const openssl = findExecutable('openssl');
  if (!openssl) throw new Error('openssl is needed to make the test certificate (apt-get install openssl)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smoke-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await runProcess(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    String(days),
    '-subj',
    '/CN=smoke-test.local',
    '-addext',
    `subjectAltName=${subjectAltName}`,
  ]);
  return { dir, certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

export function startHttpsServer(certificate: Certificate, handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  return listen(
    https.createServer({ cert: certificate.cert, key: certificate.key }, collect(handler, requests)),
    'https',
    requests,
  );
}

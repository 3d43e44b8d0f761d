import { gzipSync } from 'node:zlib';
import { httpRequest, HttpRequestError } from '../../shared/http/request.js';
import { startHanger, startServer, type TestServer } from './support/servers.js';

/** shared/http: the timeout really ends a request that never gets an answer; bodies are capped. */
describe('httpRequest', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it('ends a request to a server that never answers at the timeout', async () => {
    const hanger = await startHanger();
    servers.push(hanger);
    const started = Date.now();
    const error = await httpRequest({ url: `${hanger.url}/x`, timeoutMs: 300 }).catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(HttpRequestError);
    expect((error as HttpRequestError).kind).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1000);
  });

  it('ends a body that trickles past the timeout', async () => {
    const trickler = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => response.write('.'), 50);
      response.on('close', () => clearInterval(timer));
    });
    servers.push(trickler);
    const error = await httpRequest({ url: trickler.url, timeoutMs: 400 }).catch((caught: unknown) => caught);
    expect((error as HttpRequestError).kind).toBe('timeout');
  });

  it('decompresses gzip and caps the body it keeps', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      response.end(gzipSync('y'.repeat(100_000)));
    });
    servers.push(server);
    const whole = await httpRequest({ url: server.url, timeoutMs: 2000 });
    expect(whole.body.toString()).toBe('y'.repeat(100_000));
    const capped = await httpRequest({ url: server.url, timeoutMs: 2000, maxBodyBytes: 1000 });
    expect(capped.body.length).toBe(1000);
    expect(capped.bodyTruncated).toBe(true);
  });

  it('sends the body and headers it is given, and times the answer', async () => {
    const server = await startServer((request, response) =>
      response.end(
        JSON.stringify({ method: request.method, body: request.body, type: request.headers['content-type'] }),
      ),
    );
    servers.push(server);
    const response = await httpRequest({
      method: 'put',
      url: server.url,
      timeoutMs: 2000,
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(JSON.parse(response.body.toString())).toEqual({ method: 'PUT', body: '{"a":1}', type: 'application/json' });
    expect(response.totalMs).toBeGreaterThan(0);
    expect(response.timeToHeadersMs).toBeLessThanOrEqual(response.totalMs);
  });
});

import { readFileSync } from 'node:fs';
import { leaksOf, runAction, type ActionResult } from '../../testkit/action-harness.js';
import { json, startServer, type TestServer } from './support/servers.js';

/**
 * A server that does what careless services do: hands out a bearer token, then echoes the
 * credentials it received in its error bodies. The action must print those bodies (they explain
 * failures) without a single secret in them: not in the log, outputs, summary or JUnit file.
 */
const BEARER_TOKEN = 'sess_Zq8vK2mW9xR4tY7uP1';
const HEADER_SECRET = 'api-key-Hn3Lc8Qe5Tz0';
const ENV_SECRET = 'operator-Vb6Nf1Gj4Ks9';
const PASSWORD = 'pw-Xr5Md2Ws8Ea3';

describe('smoke-test keeps secrets out of everything it writes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer((request, response) => {
      const echo = {
        authorization: request.headers.authorization ?? null,
        apiKey: request.headers['x-api-key'] ?? null,
        body: request.body,
      };
      if (request.url === '/login') return json(response, 200, { token: BEARER_TOKEN, note: `issued ${BEARER_TOKEN}` });
      if (request.url === '/me') return json(response, 500, { error: 'session store down', echo });
      if (request.url === '/internal') return json(response, 403, { error: 'forbidden', echo });
      return json(response, 404, { error: 'no route' });
    });
  });
  afterAll(() => server.close());

  const suite = `
name: leaky
checks:
  - name: internal
    url: /internal
    headers:
      X-Operator: { value: '{{env.OPS_TOKEN}}', secret: true }
    expect:
      status: 200
  - name: session flow
    steps:
      - name: login
        method: POST
        url: /login
        json: { user: smoke, password: '{{env.SMOKE_PASSWORD}}' }
        expect:
          status: 200
          json:
            $.note: { equals: 'not what it says' }
        capture:
          session: { json: $.token, secret: true }
      - name: me
        url: /me
        headers:
          Authorization: 'Bearer {{session}}'
        expect:
          status: 200
`;

  function everyText(result: ActionResult): string[] {
    return [readFileSync(result.outputs['report-path'], 'utf8')];
  }

  it('fails with useful messages while no secret appears in log, outputs, summary or the JUnit file', async () => {
    const result = await runAction('smoke-test', {
      inputs: {
        suite,
        'base-url': server.url,
        headers: `X-Api-Key: ${HEADER_SECRET}`,
        deadline: '0',
        'retry-on-assertion-failure': false,
      },
      env: { OPS_TOKEN: ENV_SECRET, SMOKE_PASSWORD: PASSWORD },
    });
    expect(result.exitCode).toBe(1);
    // The requests really carried the secrets, so the redaction had something to do.
    const login = server.requests.find((request) => request.url === '/login')!;
    expect(login.headers['x-api-key']).toBe(HEADER_SECRET);
    expect(JSON.parse(login.body)).toEqual({ user: 'smoke', password: PASSWORD });

    for (const secret of [BEARER_TOKEN, HEADER_SECRET, ENV_SECRET, PASSWORD]) {
      expect({ secret, leaks: leaksOf(result, secret, everyText(result)) }).toEqual({ secret, leaks: [] });
    }
    const failed = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed.map((entry) => [entry.check, entry.step, entry.assertion])).toEqual([
      ['internal', undefined, 'status'],
      ['session flow', 'login', 'json $.note equals'],
    ]);
    // The login body is sensitive (it hands out a secret capture): its failure shows expected vs
    // actual with the token replaced, and the body itself is not printed.
    expect(failed[1].actual).toBe('"issued ***"');
    expect(result.log).not.toMatch(/response body of step "login"/);
    // The internal body is printed (it explains the 403), with the echoed credentials replaced.
    expect(result.log).toMatch(
      /response body: \{"error":"forbidden","echo":\{"authorization":null,"apiKey":"\*\*\*","body":""\}\}/,
    );
  });

  it('masks credential headers and the ones named in secret-headers, and leaves Accept readable', async () => {
    const result = await runAction('smoke-test', {
      inputs: {
        url: `${server.url}/login`,
        headers: [
          'Accept: application/json',
          'X-Internal-Signer: signer-Qp4Wd7',
          'X-Trace-Token: trace-Lm2Nb5',
          'Cookie: sid=cookie-Rt8Yh1',
          'X-Request-Source: smoke',
        ].join('\n'),
        'secret-headers': 'x-internal-signer',
        deadline: '0',
      },
    });
    expect(result.exitCode).toBe(0);
    // The requests carried every header as given.
    const sent = server.requests.filter((request) => request.url === '/login').at(-1)!;
    expect([sent.headers.accept, sent.headers['x-internal-signer'], sent.headers['x-request-source']]).toEqual([
      'application/json',
      'signer-Qp4Wd7',
      'smoke',
    ]);
    for (const secret of ['signer-Qp4Wd7', 'trace-Lm2Nb5', 'sid=cookie-Rt8Yh1']) expect(result.masks).toContain(secret);
    for (const plain of ['application/json', 'smoke']) expect(result.masks).not.toContain(plain);
  });

  it('redacts a captured token echoed back by a later failing step', async () => {
    const flow = `
checks:
  - name: echo flow
    steps:
      - { name: login, method: POST, url: /login, capture: { token: $.token } }
      - { name: me, url: /me, headers: { Authorization: 'Bearer {{token}}' } }
`;
    const result = await runAction('smoke-test', { inputs: { suite: flow, 'base-url': server.url, deadline: '0' } });
    expect(result.exitCode).toBe(1);
    const failed = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toEqual([
      expect.objectContaining({
        check: 'echo flow',
        step: 'me',
        assertion: 'status',
        actual: '500 Internal Server Error',
      }),
    ]);
    // "token" is a credential name: captured values with such names are secret without being marked.
    expect(result.log).toMatch(
      /response body of step "me": \{"error":"session store down","echo":\{"authorization":"\*\*\*"/,
    );
    expect(leaksOf(result, BEARER_TOKEN, everyText(result))).toEqual([]);
    expect(result.masks).toContain(BEARER_TOKEN);
  });

  it('keeps a password given in the URL out of the check name and everything else', async () => {
    const password = 'url-pw-Jc7Tq2Lm';
    const url = server.url.replace('http://', `http://smoke:${password}@`);
    const result = await runAction('smoke-test', { inputs: { url: `${url}/internal`, deadline: '0' } });
    expect(result.exitCode).toBe(1);
    const sent = server.requests[server.requests.length - 1];
    expect(Buffer.from(String(sent.headers.authorization).slice(6), 'base64').toString()).toBe(`smoke:${password}`);
    expect(leaksOf(result, password, everyText(result))).toEqual([]);
    // The server echoes the Basic header it got: its base64 form is a leak too.
    expect(result.log).toContain('"authorization":"Basic ***"');
    expect(leaksOf(result, Buffer.from(`smoke:${password}`).toString('base64'), everyText(result))).toEqual([]);
    expect(JSON.parse(result.outputs['failed-checks'])[0].check).toBe(
      `GET ${server.url.replace('http://', 'http://smoke:***@')}/internal`,
    );
  });

  it('truncates large response bodies in the log', async () => {
    const big = await startServer((_request, response) => json(response, 500, { filler: 'x'.repeat(50_000) }));
    try {
      const result = await runAction('smoke-test', { inputs: { url: `${big.url}/health`, deadline: '0' } });
      expect(result.exitCode).toBe(1);
      const line = result.log.split('\n').find((candidate) => candidate.includes('response body:'))!;
      expect(line.length).toBeLessThan(2_200);
      expect(line).toMatch(/\.\.\. \(48\d{3} more characters\)$/);
    } finally {
      await big.close();
    }
  });
});

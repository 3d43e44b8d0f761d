import { readFileSync } from 'node:fs';
import { runAction } from '../../testkit/action-harness.js';
import { json, startFlapper, startHanger, startServer, startSlowStarter, type TestServer } from './support/servers.js';

/** Retries, deadlines, consecutive successes and timeouts, against real servers, through the bundle. */
describe('smoke-test retries and timeouts', () => {
  const servers: TestServer[] = [];
  const track = async (server: Promise<TestServer>) => {
    const started = await server;
    servers.push(started);
    return started;
  };
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it('passes a server that answers 503 for 3 s and then 200, and attempts counts the retries', async () => {
    const server = await track(startSlowStarter(3000));
    const result = await runAction('smoke-test', {
      inputs: { url: `${server.url}/health`, deadline: '20s', 'max-backoff': '1s' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.passed).toBe('true');
    const attempts = Number(result.outputs.attempts);
    // Every request before the 3 s mark was a 503; the backoff (250 ms doubling, capped at 1 s) fits at least 4 in.
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(attempts).toBe(server.requests.length);
    expect(result.log).toMatch(/attempt 1 failed: status: expected 2xx, actual 503/);
    expect(result.log).toMatch(/retrying in \d+ ms \(status 503 is retryable\)/);
    expect(result.log).toMatch(new RegExp(`attempt ${attempts} passed`));
    const spanMs = server.requests[server.requests.length - 1].at - server.requests[0].at;
    expect(spanMs).toBeGreaterThanOrEqual(3000);
    expect(JSON.parse(result.outputs['failed-checks'])).toEqual([]);
    expect(JSON.parse(result.outputs.checks)).toEqual([expect.objectContaining({ passed: true, attempts })]);
    expect(Number(result.outputs['duration-ms'])).toBeGreaterThanOrEqual(3000);
  });

  it('fails the same server with a 1 s deadline, naming the status it kept getting', async () => {
    const server = await track(startSlowStarter(3000));
    const result = await runAction('smoke-test', { inputs: { url: `${server.url}/health`, deadline: '1s' } });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.passed).toBe('false');
    const [failed] = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({
      kind: 'assertion',
      assertion: 'status',
      expected: '2xx',
      actual: '503 Service Unavailable',
    });
    expect(failed.message).toMatch(/deadline reached after \d+ attempts/);
    expect(Number(result.outputs.attempts)).toBeGreaterThan(1);
    // The deadline, plus the last attempt (a retry starts only with time left before it).
    expect(Number(result.outputs['duration-ms'])).toBeLessThan(2500);
    expect(result.errors.join('\n')).toMatch(
      /1 of 1 smoke checks failed:\n- GET .*\/health \(\d+ attempts\): status: expected 2xx, actual 503/,
    );
  });

  it('fails a flapping server (200/500) when 3 consecutive successes are required, and passes it with 1', async () => {
    const flapper = await track(startFlapper());
    const strict = await runAction('smoke-test', {
      inputs: { url: `${flapper.url}/health`, 'consecutive-successes': 3, deadline: '10s' },
    });
    expect(strict.exitCode).toBe(1);
    const [failed] = JSON.parse(strict.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({
      assertion: 'status',
      expected: '2xx',
      actual: '500 Internal Server Error',
      attempts: 2,
    });
    expect(failed.message).toMatch(/3 passes in a row were required/);
    expect(strict.log).toMatch(/attempt 1 passed .*\(1 of 3 in a row\)/);

    // 500 made retryable: the flapper is retried until the deadline and still never passes 3 times running.
    const retried = await runAction('smoke-test', {
      inputs: {
        url: `${flapper.url}/health`,
        'consecutive-successes': 3,
        deadline: '2s',
        'retry-statuses': '500, 503',
        backoff: '50ms',
        'max-backoff': '200ms',
      },
    });
    expect(retried.exitCode).toBe(1);
    expect(Number(retried.outputs.attempts)).toBeGreaterThan(4);
    expect(retried.outputs['failed-checks']).toMatch(/deadline reached/);

    const lenient = await runAction('smoke-test', {
      inputs: { url: `${flapper.url}/health`, 'consecutive-successes': 1, deadline: '10s', 'retry-statuses': '500' },
    });
    expect(lenient.exitCode).toBe(0);
  });

  it('passes a steady server only after N consecutive successes', async () => {
    const server = await track(startServer((_request, response) => json(response, 200, { status: 'ok' })));
    const result = await runAction('smoke-test', {
      inputs: { url: `${server.url}/health`, 'consecutive-successes': 4, backoff: '20ms' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.attempts).toBe('4');
    expect(server.requests).toHaveLength(4);
    expect(result.log).toMatch(/attempt 4 passed .*\(4 of 4 in a row\)/);
  });

  it('ignores warm-up requests: they are sent but neither counted nor judged', async () => {
    let count = 0;
    const server = await track(
      startServer((_request, response) => json(response, ++count <= 2 ? 500 : 200, { count })),
    );
    const result = await runAction('smoke-test', { inputs: { url: `${server.url}/health`, warmup: 2 } });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.attempts).toBe('1');
    expect(result.outputs.requests).toBe('3');
    expect(result.log).toMatch(/warm-up request: failed: status: expected 2xx, actual 500 .*\(not counted\)/);
  });

  it('cuts off a server that accepts and never answers within the configured timeout, not the job timeout', async () => {
    const hanger = await track(startHanger());
    const result = await runAction('smoke-test', {
      inputs: { url: `${hanger.url}/health`, timeout: '2s', deadline: '0' },
      timeoutMs: 60_000,
    });
    expect(result.exitCode).toBe(1);
    expect(hanger.requests).toHaveLength(1);
    const durationMs = Number(result.outputs['duration-ms']);
    expect(durationMs).toBeGreaterThanOrEqual(1900);
    expect(durationMs).toBeLessThan(3000);
    // Seen from the server: the client gave up on the request within timeout + 1 s of sending it.
    const [request] = hanger.requests;
    expect(request.closedAt).toBeDefined();
    expect(request.closedAt! - request.at).toBeGreaterThanOrEqual(1900);
    expect(request.closedAt! - request.at).toBeLessThan(3000);
    // And the step ended on its own, long before the harness's 60 s limit (node start-up included).
    expect(result.durationMs).toBeLessThan(6000);
    const [failed] = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({ kind: 'timeout', attempts: 1 });
    expect(failed.actual).toMatch(/no answer within 2000 ms \(timeout\)/);
  });

  it('retries timeouts until the deadline, each attempt cut at the timeout', async () => {
    const hanger = await track(startHanger());
    const result = await runAction('smoke-test', {
      inputs: { url: `${hanger.url}/health`, timeout: '500ms', deadline: '2s', backoff: '100ms' },
      timeoutMs: 60_000,
    });
    expect(result.exitCode).toBe(1);
    expect(Number(result.outputs.attempts)).toBeGreaterThanOrEqual(2);
    expect(Number(result.outputs['duration-ms'])).toBeLessThan(2000 + 500 + 1000);
    expect(result.outputs['failed-checks']).toMatch(/deadline reached/);
  });

  it('fails at once on a wrong status that is not retryable, without waiting for the deadline', async () => {
    const server = await track(startServer((_request, response) => json(response, 404, { error: 'no route' })));
    const result = await runAction('smoke-test', { inputs: { url: `${server.url}/helth`, deadline: '60s' } });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.attempts).toBe('1');
    expect(Number(result.outputs['duration-ms'])).toBeLessThan(1000);
    expect(result.log).toMatch(/response body: \{"error":"no route"\}/);
  });

  it('retries connection refused until the deadline and names the cause', async () => {
    const server = await track(startServer(() => undefined));
    await server.close();
    const result = await runAction('smoke-test', { inputs: { url: `${server.url}/health`, deadline: '1s' } });
    expect(result.exitCode).toBe(1);
    expect(Number(result.outputs.attempts)).toBeGreaterThan(1);
    const [failed] = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({ kind: 'connection' });
    expect(failed.actual).toMatch(/connection refused/);
  });

  it('with fail-on-error false, succeeds and reports the failure only in outputs, summary and JUnit', async () => {
    const server = await track(
      startServer((_request, response) => json(response, 500, { status: 'error', version: 'v1.3.0' })),
    );
    const result = await runAction('smoke-test', {
      inputs: { url: `${server.url}/health`, 'fail-on-error': false, 'junit-path': 'reports/smoke.xml' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.errors).toEqual([]);
    expect(result.warnings.join('\n')).toMatch(/1 of 1 smoke checks failed/);
    expect(result.outputs.passed).toBe('false');
    expect(result.outputs['report-path']).toBe(`${result.workspace}/reports/smoke.xml`);
    const junit = readFileSync(result.outputs['report-path'], 'utf8');
    expect(junit).toMatch(/<testsuites name="smoke-test" tests="1" failures="1"/);
    expect(junit).toMatch(
      /<failure message="status: expected 2xx, actual 500 Internal Server Error[^"]*" type="AssertionFailure">/,
    );
    expect(junit).toContain(
      'response body: {&quot;status&quot;:&quot;error&quot;,&quot;version&quot;:&quot;v1.3.0&quot;}',
    );
    expect(result.summary).toMatch(/### ❌ Smoke test failed: 1 of 1 checks failed/);
    expect(result.summary).toMatch(
      /\| `GET http:\/\/127\.0\.0\.1:\d+\/health` \| status \| 2xx \| 500 Internal Server Error \(not retried: 500 is not in retry-statuses\) \| 1 \|/,
    );
    expect(result.summary).toMatch(/\| `GET http:\/\/127\.0\.0\.1:\d+\/health` \| ❌ failed \| 1 \| \d+ ?ms \|/);
  });
});

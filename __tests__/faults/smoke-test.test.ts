import { readFileSync } from 'node:fs';
import { CANCEL_GRACE_MS } from '../../shared/run-action.js';
import { leaksOf, runAction, startAction } from '../../testkit/action-harness.js';
import { until } from './support.js';
import { json, startHanger, startServer, type TestServer } from '../smoke/support/servers.js';

/**
 * smoke-test where credentials could leak or time could run away: a redirect to another origin
 * with a secret API key header, a token in the URL's query string, warm-up requests against a
 * server that never answers.
 */
describe('credentials and redirects', () => {
  let elsewhere: TestServer;
  let origin: TestServer;
  beforeAll(async () => {
    elsewhere = await startServer((request, response) => json(response, 200, { status: 'ok', path: request.url }));
    origin = await startServer((request, response) => {
      if (request.url === '/moved') {
        response.writeHead(302, { location: `${elsewhere.url}/health` });
        return response.end();
      }
      if (request.url === '/same') {
        response.writeHead(302, { location: '/health' });
        return response.end();
      }
      json(response, 200, { status: 'ok', sawKey: request.headers['x-api-key'] !== undefined });
    });
  });
  afterAll(async () => {
    await Promise.all([elsewhere.close(), origin.close()]);
  });

  it('a redirect to another origin: X-Api-Key (and every header given as secret) is not sent on, and the log says so', async () => {
    const result = await runAction('smoke-test', {
      inputs: {
        url: `${origin.url}/moved`,
        headers: 'X-Api-Key: k3y-for-origin-only-4242\nX-Trace: trace-123',
        deadline: '0',
      },
    });
    expect(result.exitCode).toBe(0);
    expect(origin.requests.at(-1)!.headers['x-api-key']).toBe('k3y-for-origin-only-4242');
    const forwarded = elsewhere.requests.at(-1)!;
    expect(forwarded.headers['x-api-key']).toBeUndefined();
    // Only credential headers are secret: X-Trace is not, and goes on like any other header.
    expect(forwarded.headers['x-trace']).toBe('trace-123');
    expect(result.log).toContain(
      `redirected to another origin (${elsewhere.url}/health): secret header(s) X-Api-Key not sent on`,
    );
    expect(leaksOf(result, 'k3y-for-origin-only-4242')).toEqual([]);
  });

  it('a suite header not marked secret still goes on; a secret one does not; the same origin keeps them all', async () => {
    const suite = `
checks:
  - name: across origins
    url: /moved
    headers:
      X-Api-Key: suite-key-9876
      X-Request-Source: smoke
  - name: same origin
    url: /same
    headers: { X-Api-Key: suite-key-9876 }
    expect: { json: { $.sawKey: true } }
`;
    const result = await runAction('smoke-test', { inputs: { suite, 'base-url': origin.url, deadline: '0' } });
    expect(result.exitCode).toBe(0);
    const forwarded = elsewhere.requests.at(-1)!;
    expect(forwarded.headers['x-api-key']).toBeUndefined();
    expect(forwarded.headers['x-request-source']).toBe('smoke');
  });

  it('a token in the URL query string is masked in the log, summary, outputs and JUnit report', async () => {
    const token = 'q5-token-in-url-31337';
    const result = await runAction('smoke-test', {
      inputs: { url: `${origin.url}/missing?access_token=${token}&page=2`, 'expected-status': '201', deadline: '0' },
    });
    expect(result.exitCode).toBe(1);
    const junit = readFileSync(result.outputs['report-path'], 'utf8');
    expect(leaksOf(result, token, [junit])).toEqual([]);
    // The URL is still shown, with the token replaced and the other parameters kept.
    expect(result.log).toContain('/missing?access_token=***&page=2');
    expect(junit).toContain('access_token=***&amp;page=2');
    expect(result.summary).toContain('access_token=***');
  });
});

describe('warm-up requests', () => {
  it('respect the deadline: against a server that never answers, they stop at the deadline, not after warmup x timeout', async () => {
    const hanger = await startHanger();
    try {
      const result = await runAction('smoke-test', {
        inputs: { url: `${hanger.url}/health`, warmup: 4, timeout: '3s', deadline: '2s' },
      });
      expect(result.exitCode).toBe(1);
      const ms = Number(result.outputs['duration-ms']);
      console.log(
        `smoke-test warm-ups against a hanging server: ${ms} ms (4 warm-ups x 3s timeout would be 12s before the first counted attempt)`,
      );
      // Warm-ups cut at the 2 s deadline, then one counted attempt with its full 3 s timeout.
      expect(ms).toBeLessThan(7000);
      // Each warm-up is cut to what is left of the 2 s deadline, not given its 3 s timeout.
      const cuts = [...result.log.matchAll(/warm-up request: failed: .*no answer within (\d+) ms/g)].map((match) =>
        Number(match[1]),
      );
      expect(cuts.length).toBeGreaterThan(0);
      for (const cut of cuts) expect(cut).toBeLessThanOrEqual(2000);
      expect(result.log).toMatch(/\d warm-up requests? skipped: the deadline is reached/);
      expect(hanger.requests.length).toBeLessThan(5);
    } finally {
      await hanger.close();
    }
  });
});

describe('a step that cannot stop at once', () => {
  let hanger: TestServer;
  beforeAll(async () => {
    hanger = await startHanger();
  });
  afterAll(() => hanger.close());

  /** A check whose request hangs; resolves once the request is in flight. */
  async function hangingCheck() {
    const before = hanger.requests.length;
    const step = startAction('smoke-test', { inputs: { url: `${hanger.url}/health`, timeout: '60s', deadline: '2m' } });
    await until('the request is in flight', () => hanger.requests.length > before);
    return step;
  }

  it(`exits ${CANCEL_GRACE_MS / 1000} s after the signal anyway (a request in flight), with the summary saying so`, async () => {
    const step = await hangingCheck();
    const sentAt = Date.now();
    step.signal('SIGTERM');
    const result = await step.result;
    const exitedMs = Date.now() - sentAt;
    console.log(
      `smoke-test, SIGTERM with a request in flight: exited after ${exitedMs} ms (grace ${CANCEL_GRACE_MS} ms)`,
    );
    expect(result.exitCode).toBe(143);
    expect(exitedMs).toBeGreaterThanOrEqual(CANCEL_GRACE_MS - 100);
    expect(exitedMs).toBeLessThan(CANCEL_GRACE_MS + 2000);
    expect(result.log).toContain('Cleaning up took longer than 5.0s: exiting now.');
    expect(result.summary).toContain('## smoke-test cancelled (SIGTERM)');
    expect(result.summary).toContain('The step did not finish cleaning up in time');
  });

  it('exits at once on a second signal (the runner sends SIGTERM 7.5 s after SIGINT)', async () => {
    const step = await hangingCheck();
    step.signal('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const secondAt = Date.now();
    step.signal('SIGTERM');
    const result = await step.result;
    const exitedMs = Date.now() - secondAt;
    expect(exitedMs).toBeLessThan(1500);
    expect(result.exitCode).toBe(130);
    expect(result.log).toContain('Received SIGTERM again: exiting now.');
    expect(result.summary).toContain('## smoke-test cancelled (SIGINT)');
  });
});

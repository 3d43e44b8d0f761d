import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAction } from '../../testkit/action-harness.js';
import {
  json,
  selfSignedCertificate,
  startHttpsServer,
  startServer,
  type Certificate,
  type TestServer,
} from './support/servers.js';

/** https with a self-signed certificate made by openssl in the test, and redirects, through the bundle. */
describe('smoke-test over TLS', () => {
  let certificate: Certificate;
  let server: TestServer;
  let workspace: string;
  beforeAll(async () => {
    certificate = await selfSignedCertificate(10);
    server = await startHttpsServer(certificate, (_request, response) =>
      json(response, 200, { status: 'ok', version: 'v1.2.0' }),
    );
    workspace = mkdtempSync(path.join(os.tmpdir(), 'smoke-tls-ws-'));
    copyFileSync(certificate.certFile, path.join(workspace, 'ca.pem'));
  });
  afterAll(() => server.close());

  it('refuses an untrusted certificate at once (no retries: waiting does not fix a certificate)', async () => {
    const result = await runAction('smoke-test', { inputs: { url: `${server.url}/health`, deadline: '30s' } });
    expect(result.exitCode).toBe(1);
    const [failed] = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({ kind: 'tls', attempts: 1 });
    expect(failed.actual).toMatch(/TLS: self[- ]signed certificate/);
    expect(Number(result.outputs['duration-ms'])).toBeLessThan(2000);
  });

  it('trusts the certificate from ca-file and checks its days to expiry', async () => {
    const passing = await runAction('smoke-test', {
      workspace,
      inputs: { url: `${server.url}/health`, 'ca-file': 'ca.pem', 'tls-expiry-days': 7 },
    });
    expect(passing.exitCode).toBe(0);

    const failing = await runAction('smoke-test', {
      workspace,
      inputs: { url: `${server.url}/health`, 'ca-file': 'ca.pem', 'tls-expiry-days': 30 },
    });
    expect(failing.exitCode).toBe(1);
    const [failed] = JSON.parse(failing.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({ assertion: 'tls-days-to-expiry', expected: '>= 30 days' });
    expect(failed.actual).toMatch(/^9\.9 days \(expires \d{4}-\d\d-\d\dT[\d:.]+Z, CN=smoke-test\.local\)$/);
  });

  it('reads the certificate with insecure TLS, and asserts expiry from a suite', async () => {
    const suite = `
defaults:
  tls: { insecure: true }
checks:
  - name: cert
    url: /health
    expect:
      tls-days-to-expiry: { gt: 9, lt: 10 }
      json: { $.status: ok }
  - name: cert soon expiring
    url: /health
    expect:
      tls-days-to-expiry: 60
`;
    const result = await runAction('smoke-test', { inputs: { suite, 'base-url': server.url, deadline: '0' } });
    expect(result.exitCode).toBe(1);
    const checks = JSON.parse(result.outputs.checks) as { check: string; passed: boolean }[];
    expect(checks.map((check) => [check.check, check.passed])).toEqual([
      ['cert', true],
      ['cert soon expiring', false],
    ]);
    expect(result.outputs['failed-checks']).toMatch(/"expected":">= 60 days","actual":"9\.9 days/);
  });

  it('fails an explicit TLS assertion on a plain http URL instead of passing it silently', async () => {
    const plain = await startServer((_request, response) => json(response, 200, { status: 'ok' }));
    try {
      const result = await runAction('smoke-test', {
        inputs: {
          suite: `checks:\n  - { name: plain, url: ${plain.url}/health, expect: { tls-days-to-expiry: 14 } }\n`,
          deadline: '0',
        },
      });
      expect(result.exitCode).toBe(1);
      expect(result.outputs['failed-checks']).toMatch(/"actual":"\(not an https request: no certificate\)"/);
      // The url check was asked for a certificate check: over plain http that is a mistake, said so.
      const urlCheck = await runAction('smoke-test', {
        inputs: { url: `${plain.url}/health`, 'tls-expiry-days': 14, deadline: '0' },
      });
      expect(urlCheck.exitCode).toBe(1);
      expect(urlCheck.outputs['failed-checks']).toMatch(
        /"assertion":"tls-days-to-expiry","expected":">= 14 days","actual":"\(not an https request: no certificate\)"/,
      );
      // For a suite the input is a default for its https requests: plain http ones are not judged by it.
      const defaulted = await runAction('smoke-test', {
        inputs: { suite: `checks:\n  - { name: plain, url: ${plain.url}/health }\n`, 'tls-expiry-days': 14 },
      });
      expect(defaulted.exitCode).toBe(0);
    } finally {
      await plain.close();
    }
  });
});

describe('smoke-test and redirects', () => {
  let target: TestServer;
  let origin: TestServer;
  beforeAll(async () => {
    target = await startServer((request, response) =>
      json(response, 200, { status: 'ok', sawAuthorization: request.headers.authorization !== undefined }),
    );
    origin = await startServer((request, response) => {
      if (request.url === '/old') {
        response.writeHead(301, { location: '/health' });
        return response.end();
      }
      if (request.url === '/elsewhere') {
        response.writeHead(302, { location: `${target.url}/health` });
        return response.end();
      }
      if (request.url === '/loop') {
        response.writeHead(302, { location: '/loop' });
        return response.end();
      }
      json(response, 200, { status: 'ok', sawAuthorization: request.headers.authorization !== undefined });
    });
  });
  afterAll(async () => {
    await Promise.all([target.close(), origin.close()]);
  });

  it('follows redirects by default, keeping credentials on the same origin and dropping them across origins', async () => {
    const suite = `
checks:
  - name: same origin
    url: /old
    headers: { Authorization: Bearer same-origin-token }
    expect: { status: 200, json: { $.sawAuthorization: true } }
  - name: other origin
    url: /elsewhere
    headers: { Authorization: Bearer cross-origin-token }
    expect: { status: 200, json: { $.sawAuthorization: false } }
`;
    const result = await runAction('smoke-test', { inputs: { suite, 'base-url': origin.url } });
    expect({ exitCode: result.exitCode, failed: result.outputs['failed-checks'] }).toEqual({
      exitCode: 0,
      failed: '[]',
    });
    expect(target.requests.map((request) => request.headers.authorization)).toEqual([undefined]);
  });

  it('checks the redirect itself with follow-redirects false', async () => {
    const following = await runAction('smoke-test', {
      inputs: { url: `${origin.url}/old`, 'follow-redirects': false, deadline: '0' },
    });
    expect(following.exitCode).toBe(1);
    expect(following.outputs['failed-checks']).toMatch(/"expected":"2xx","actual":"301 Moved Permanently"/);

    const suite = `
checks:
  - name: moved
    url: /old
    follow-redirects: false
    expect: { status: 301, headers: { location: /health } }
`;
    const result = await runAction('smoke-test', { inputs: { suite, 'base-url': origin.url } });
    expect(result.exitCode).toBe(0);
  });

  it('stops a redirect loop with a clear error', async () => {
    const result = await runAction('smoke-test', { inputs: { url: `${origin.url}/loop`, deadline: '5s' } });
    expect(result.exitCode).toBe(1);
    const [failed] = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({ kind: 'redirect', attempts: 1 });
    expect(failed.actual).toMatch(/more than 10 redirects/);
  });
});

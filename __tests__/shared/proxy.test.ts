import { pollReadyUrl } from '../../actions/redeploy-tag/ready-url.js';
import { proxyRoute } from '../../shared/http/proxy.js';
import { READ_TOKEN, startStandIns, type StandIns } from '../../testkit/backup-stand-ins.js';
import {
  selfSignedCertificate,
  startHttpsServer,
  startServer,
  type Certificate,
  type TestServer,
} from '../smoke/support/servers.js';
import { leaksOf, runAction } from '../../testkit/action-harness.js';
import {
  createTestDatabase,
  databaseUrl,
  dropDatabase,
  withClient,
  type TestDatabase,
} from '../../testkit/database.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { startTestProxy, type TestProxy } from '../../testkit/proxy.js';

/**
 * Runners behind a proxy: every HTTP call the actions make honours HTTPS_PROXY, HTTP_PROXY and
 * NO_PROXY (lower case too) — smoke-test's requests, the GitHub client (Octokit) recording the
 * deployment, redeploy-tag's ready-url poll and the artifact client. The targets have names only
 * the proxy can resolve (*.test), so a request that skipped the proxy fails; for NO_PROXY, the
 * target is 127.0.0.1 written as [::ffff:127.0.0.1], which no loopback shortcut recognises, so only
 * NO_PROXY keeps it away from the proxy.
 */
const TOKEN = 'ghs_proxyTestToken0123456789';
const MAPPED = '[::ffff:7f00:1]';

describe('proxies', () => {
  let certificate: Certificate;
  let app: TestServer;
  let plainApp: TestServer;
  let github: Awaited<ReturnType<typeof startFakeGitHub>>;
  let proxy: TestProxy;
  const hosts = {
    'shop.test': '127.0.0.1',
    'api.github.test': '127.0.0.1',
    'artifacts.test': '127.0.0.1',
    [MAPPED]: '::ffff:7f00:1',
  };

  beforeAll(async () => {
    certificate = await selfSignedCertificate(30, 'DNS:shop.test,DNS:api.github.test,IP:127.0.0.1,IP:::ffff:127.0.0.1');
    const health = (_request: unknown, response: import('node:http').ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'ok', version: 'v1.2.0' }));
    };
    [app, plainApp, github, proxy] = await Promise.all([
      startHttpsServer(certificate, health),
      startServer(health),
      startFakeGitHub({ token: TOKEN, tls: { cert: certificate.cert, key: certificate.key } }),
      startTestProxy({ hosts }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([app.close(), plainApp.close(), github.server.stop(), proxy.stop()]);
  });

  const port = (url: string) => new URL(url).port;
  const ghPort = () => port(github.server.baseUrl);

  /** smoke-test of `url`, recording the outcome on a deployment through the GitHub API at `apiHost`. */
  async function smoke(url: string, apiHost: string, env: Record<string, string>) {
    const deployment = github.deployments.inProgress('acme', 'shop', 'staging', 'v1.2.0');
    const result = await runAction('smoke-test', {
      inputs: {
        url,
        'expected-version': 'v1.2.0',
        deadline: '10s',
        'deployment-id': String(deployment.id),
        environment: 'staging',
      },
      env: { GITHUB_API_URL: `https://${apiHost}:${ghPort()}`, NODE_EXTRA_CA_CERTS: certificate.certFile, ...env },
      githubToken: TOKEN,
    });
    return { result, states: deployment.statuses.map((status) => status.state) };
  }

  it('HTTPS_PROXY: smoke-test and the GitHub client reach their targets through CONNECT tunnels', async () => {
    const before = proxy.seen.length;
    const { result, states } = await smoke(`https://shop.test:${app.port}/health`, 'api.github.test', {
      HTTPS_PROXY: proxy.url,
    });
    expect({ exitCode: result.exitCode, errors: result.errors, warnings: result.warnings }).toEqual({
      exitCode: 0,
      errors: [],
      warnings: [],
    });
    expect(states).toEqual(['in_progress', 'success']);
    const tunnels = proxy.seen.slice(before).map((request) => `${request.method} ${request.target}`);
    expect(new Set(tunnels)).toEqual(new Set([`CONNECT shop.test:${app.port}`, `CONNECT api.github.test:${ghPort()}`]));
    expect(app.requests.at(-1)).toMatchObject({ method: 'GET', url: '/health' });
  });

  it('https_proxy (lower case) with credentials; a proxy that refuses says so, without the password', async () => {
    const guarded = await startTestProxy({ hosts, credentials: 'ci:s3cret-proxy-pass' });
    try {
      const proxyUrl = new URL(guarded.url);
      proxyUrl.username = 'ci';
      proxyUrl.password = 's3cret-proxy-pass';
      const { result, states } = await smoke(`https://shop.test:${app.port}/health`, 'api.github.test', {
        https_proxy: proxyUrl.href,
      });
      expect({ exitCode: result.exitCode, errors: result.errors }).toEqual({ exitCode: 0, errors: [] });
      expect(states).toEqual(['in_progress', 'success']);
      expect(
        guarded.seen.every(
          (request) => request.authorization === `Basic ${Buffer.from('ci:s3cret-proxy-pass').toString('base64')}`,
        ),
      ).toBe(true);

      proxyUrl.password = 'wrong-proxy-password';
      const refused = await runAction('smoke-test', {
        inputs: { url: `https://shop.test:${app.port}/health`, deadline: '2s' },
        env: { HTTPS_PROXY: proxyUrl.href },
      });
      expect(refused.exitCode).toBe(1);
      expect(JSON.parse(refused.outputs['failed-checks'])[0].message).toContain(
        `the proxy http://ci:***@127.0.0.1:${port(guarded.url)}/ refused the tunnel to shop.test:${app.port}: 407 Proxy Authentication Required`,
      );
      expect(leaksOf(refused, 'wrong-proxy-password')).toEqual([]);
    } finally {
      await guarded.stop();
    }
  });

  it('NO_PROXY: listed hosts are reached directly, the same hosts unlisted go through the proxy', async () => {
    const url = `https://${MAPPED}:${app.port}/health`;
    let before = proxy.seen.length;
    const proxied = await smoke(url, MAPPED, { HTTPS_PROXY: proxy.url });
    expect(proxied.states).toEqual(['in_progress', 'success']);
    expect(new Set(proxy.seen.slice(before).map((request) => request.target))).toEqual(
      new Set([`${MAPPED}:${app.port}`, `${MAPPED}:${ghPort()}`]),
    );

    const noProxies: Record<string, string>[] = [{ NO_PROXY: MAPPED }, { no_proxy: `example.com, ${MAPPED}` }];
    for (const noProxy of noProxies) {
      before = proxy.seen.length;
      const appRequests = app.requests.length;
      const direct = await smoke(url, MAPPED, { HTTPS_PROXY: proxy.url, ...noProxy });
      expect({ noProxy, exitCode: direct.result.exitCode, states: direct.states }).toEqual({
        noProxy,
        exitCode: 0,
        states: ['in_progress', 'success'],
      });
      expect(proxy.seen.slice(before)).toEqual([]);
      expect(app.requests.length).toBe(appRequests + 1);
    }
  });

  it('HTTP_PROXY: plain http goes to the proxy in absolute form', async () => {
    const before = proxy.seen.length;
    const result = await runAction('smoke-test', {
      inputs: { url: `http://shop.test:${plainApp.port}/health`, deadline: '10s' },
      env: { http_proxy: proxy.url },
    });
    expect({ exitCode: result.exitCode, errors: result.errors }).toEqual({ exitCode: 0, errors: [] });
    expect(proxy.seen.slice(before).map((request) => `${request.method} ${request.target}`)).toEqual([
      `GET http://shop.test:${plainApp.port}/health`,
    ]);
  });

  describe("which requests use the proxy (the toolkit's rules)", () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy'])
        delete process.env[name];
      Object.assign(process.env, saved);
    });
    const proxied = (url: string) => proxyRoute(new URL(url), new AbortController().signal) !== undefined;

    it('NO_PROXY: names, .domain and domain suffixes, host:port, *; loopback never; each scheme its own variable', () => {
      process.env.HTTPS_PROXY = 'http://proxy.corp:3128';
      process.env.NO_PROXY = 'internal.example, .svc.cluster, shop.test:8443';
      expect(
        [
          'https://internal.example/',
          'https://api.internal.example/',
          'https://db.svc.cluster/',
          'https://shop.test:8443/',
        ].map(proxied),
      ).toEqual([false, false, false, false]);
      expect(
        ['https://example.com/', 'https://shop.test:9443/', 'https://notinternal.example.org/'].map(proxied),
      ).toEqual([true, true, true]);
      expect(
        ['https://localhost:1/', 'https://127.0.0.1/', 'https://127.1.2.3/', 'https://[::1]/'].map(proxied),
      ).toEqual([false, false, false, false]);
      // http uses HTTP_PROXY only.
      expect(proxied('http://example.com/')).toBe(false);
      process.env.http_proxy = 'proxy.corp:3128';
      expect(proxied('http://example.com/')).toBe(true);
      process.env.NO_PROXY = '*';
      expect(['https://example.com/', 'http://example.com/'].map(proxied)).toEqual([false, false]);
    });
  });

  describe('redeploy-tag ready-url', () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS']) delete process.env[name];
      Object.assign(process.env, saved);
    });

    it('polls through the proxy (https and http), and directly for NO_PROXY hosts', async () => {
      process.env.HTTPS_PROXY = proxy.url;
      process.env.HTTP_PROXY = proxy.url;
      const before = proxy.seen.length;
      const plain = await pollReadyUrl(`http://shop.test:${plainApp.port}/health`, Date.now() + 10_000);
      expect(plain).toMatchObject({ ok: true, attempts: 1 });
      // ready-url trusts the system store; the test CA is not in it, so the TLS failure proves the tunnel reached the server.
      const secure = await pollReadyUrl(`https://shop.test:${app.port}/health`, Date.now() + 1_000);
      expect(secure.ok).toBe(false);
      expect(secure.last).toMatch(/SELF_SIGNED|CERT|certificate/i);
      expect(proxy.seen.slice(before).map((request) => `${request.method} ${request.target}`)).toEqual(
        expect.arrayContaining([`GET http://shop.test:${plainApp.port}/health`, `CONNECT shop.test:${app.port}`]),
      );

      process.env.NO_PROXY = MAPPED;
      const afterProxied = proxy.seen.length;
      const direct = await pollReadyUrl(`http://${MAPPED}:${plainApp.port}/health`, Date.now() + 10_000);
      expect(direct).toMatchObject({ ok: true, attempts: 1 });
      expect(proxy.seen.length).toBe(afterProxied);
    });
  });

  describe('the artifact client (backup-db uploading)', () => {
    let standIns: StandIns;
    let database: TestDatabase;
    beforeAll(async () => {
      [standIns, database] = await Promise.all([startStandIns(), createTestDatabase('proxy_backup')]);
      await database.query('CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2)');
      // The artifact service (which signs blob URLs with its base URL) and the REST API answer under names only the proxy resolves.
      standIns.artifacts.baseUrl = `http://artifacts.test:${port(standIns.artifacts.baseUrl)}`;
      standIns.github.server.baseUrl = `http://api.github.test:${port(standIns.github.server.baseUrl)}`;
    });
    const restored: string[] = [];
    afterAll(async () => {
      await standIns.stop();
      await database.drop();
      for (const name of restored) await dropDatabase(name);
    });
    async function createdRows(name: string): Promise<number> {
      restored.push(name);
      const { rows } = await withClient(databaseUrl(name), (client) =>
        client.query<{ count: number }>('SELECT count(*)::int AS count FROM items'),
      );
      return rows[0].count;
    }

    it("uploads the backup, and restore-db downloads it (this run's, another run's), through the proxy", async () => {
      const service = `artifacts.test:${port(standIns.artifacts.baseUrl)}`;
      const proxied = { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url };
      let before = proxy.seen.length;
      const backup = await runAction('backup-db', {
        inputs: { 'database-url': database.url, label: 'proxied' },
        env: { ...standIns.artifacts.runnerEnv(2101), ...proxied },
      });
      expect(backup.errors).toEqual([]);
      expect(standIns.artifacts.records.find((record) => record.name === backup.outputs['artifact-name'])?.state).toBe(
        'finalized',
      );
      // The toolkit's client tunnels even plain http (CONNECT); the blob client sends it in absolute form.
      const seen = (from: number) =>
        proxy.seen
          .slice(from)
          .map(
            (request) =>
              `${request.method} ${request.method === 'CONNECT' ? request.target : new URL(request.target).host}`,
          );
      expect(seen(before)).toEqual(expect.arrayContaining([`CONNECT ${service}`, `PUT ${service}`]));

      before = proxy.seen.length;
      const restore = await runAction('restore-db', {
        inputs: { 'database-url': database.url, 'artifact-name': backup.outputs['artifact-name'] },
        env: { ...standIns.artifacts.runnerEnv(2101), ...proxied },
      });
      expect(restore.errors).toEqual([]);
      expect(await createdRows(restore.outputs.database)).toBe(2);
      expect(seen(before)).toEqual(expect.arrayContaining([`CONNECT ${service}`]));

      // From another run: Octokit lists the run's artifacts and follows the zip download's redirect.
      before = proxy.seen.length;
      const other = await runAction('restore-db', {
        inputs: {
          'database-url': database.url,
          'artifact-name': backup.outputs['artifact-name'],
          'run-id': 2101,
          'github-token': READ_TOKEN,
        },
        env: { ...standIns.env(2102), ...proxied },
      });
      expect(other.errors).toEqual([]);
      expect(await createdRows(other.outputs.database)).toBe(2);
      expect(seen(before)).toEqual(
        expect.arrayContaining([`CONNECT api.github.test:${port(standIns.github.server.baseUrl)}`]),
      );
      expect(standIns.github.server.requests.map((request) => request.path)).toEqual(
        expect.arrayContaining([`/repos/acme/shop/actions/artifacts/${backup.outputs['artifact-id']}/zip`]),
      );
    });
  });
});

import { leaksOf, runAction } from '../../testkit/action-harness.js';
import { listenLocal, type LocalHttpServer } from '../../testkit/local-http.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import type { DeploymentsApi } from '../../testkit/github-api/deployments.js';
import type { FakeGitHubServer } from '../../testkit/github-api/server.js';

/**
 * smoke-test deciding a deployment's outcome: a deployment redeploy-tag left in_progress becomes
 * success only when the checks pass (and the environment's earlier success turns inactive), failure
 * otherwise; through the real Octokit client against the GitHub API stand-in.
 */
const TOKEN = 'ghs_smokeOutcomeToken0123456789';

describe('smoke-test recording the deployment outcome', () => {
  let github: { server: FakeGitHubServer; deployments: DeploymentsApi };
  let app: LocalHttpServer;
  let appUrl: string;
  let healthStatus = 200;

  beforeAll(async () => {
    github = await startFakeGitHub({ token: TOKEN });
    app = await listenLocal((_request, response) => {
      response.writeHead(healthStatus, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: healthStatus === 200 ? 'ok' : 'broken', version: 'v1.2.0' }));
    });
    appUrl = `${app.baseUrl}/health`;
  });
  afterAll(async () => {
    await github.server.stop();
    await app.stop();
  });

  function run(deploymentId: number, extra: Record<string, string> = {}) {
    return runAction('smoke-test', {
      inputs: {
        url: appUrl,
        'expected-version': 'v1.2.0',
        deadline: '2s',
        'deployment-id': String(deploymentId),
        environment: 'staging',
        'environment-url': 'https://staging.example.com',
        ...extra,
      },
      env: github.server.env(),
      githubToken: TOKEN,
    });
  }

  it('marks the deployment success when every check passes, and the earlier success inactive', async () => {
    healthStatus = 200;
    const earlier = github.deployments.seed('acme', 'shop', 'staging', 'v1.1.0', 'success');
    const deployment = github.deployments.inProgress('acme', 'shop', 'staging', 'v1.2.0');
    const result = await run(deployment.id);
    expect({ exitCode: result.exitCode, errors: result.errors, warnings: result.warnings }).toEqual({
      exitCode: 0,
      errors: [],
      warnings: [],
    });
    expect(deployment.statuses.map((status) => status.state)).toEqual(['in_progress', 'success']);
    expect(deployment.statuses.at(-1)).toMatchObject({
      environment_url: 'https://staging.example.com',
      description: 'Smoke tests passed (1 checks)',
    });
    expect(earlier.statuses.at(-1)?.state).toBe('inactive');
    expect(result.log).toContain(
      `GitHub deployment ${deployment.id}: success; earlier deployment(s) ${earlier.id} marked inactive.`,
    );
    expect(leaksOf(result, TOKEN)).toEqual([]);
  });

  it('marks it failure when a check fails, leaving the earlier success as the last known good', async () => {
    healthStatus = 500;
    const earlier = github.deployments.seed('acme', 'shop', 'staging', 'v1.1.0', 'success');
    const deployment = github.deployments.inProgress('acme', 'shop', 'staging', 'v1.3.0');
    const result = await run(deployment.id);
    expect(result.exitCode).toBe(1);
    expect(result.outputs.passed).toBe('false');
    expect(deployment.statuses.map((status) => status.state)).toEqual(['in_progress', 'failure']);
    expect(deployment.statuses.at(-1)?.description).toBe('Smoke tests failed: 1 of 1 checks');
    expect(earlier.statuses.at(-1)?.state).toBe('success');
  });

  it('warns, and keeps its own verdict, when the deployment cannot be updated', async () => {
    healthStatus = 200;
    const result = await run(987654321);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.passed).toBe('true');
    expect(result.warnings.join('\n')).toMatch(
      /Could not mark GitHub deployment 987654321 success: .*deployments: write/,
    );
  });

  it('records nothing when the deploy step recorded no deployment (empty deployment-id), whatever environment says', async () => {
    healthStatus = 200;
    const before = github.server.requests.length;
    const result = await run(1, { 'deployment-id': '' });
    expect({ exitCode: result.exitCode, warnings: result.warnings }).toEqual({ exitCode: 0, warnings: [] });
    expect(github.server.requests.length).toBe(before);
  });

  it.each([
    [{ 'deployment-id': 'abc' }, /deployment-id.*whole number.*"abc"/],
    [{ 'deployment-id': '12', environment: '' }, /environment.*required with deployment-id/],
  ])('refuses %j before any request', async (inputs, message) => {
    const before = github.server.requests.length;
    const result = await run(1, inputs);
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(message);
    expect(github.server.requests.length).toBe(before);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getOctokit } from '@actions/github';
import { leaksOf } from '../../testkit/action-harness.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { createDemoRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectRefused, expectSuccess, migrationsOf, warningsOf } from './support.js';

/**
 * Versions read from GitHub: deployments (current and last-successful-deployment), releases and
 * tags, through the real Octokit client talking to the local REST stand-in.
 */
describe('compute-rollback-target with the GitHub API', () => {
  const TOKEN = 'ghs_compute_sources_token';
  let repo: FixtureRepo;
  let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
  const api = () => getOctokit(TOKEN, { baseUrl: fake.server.baseUrl });

  beforeAll(async () => {
    repo = createDemoRepo();
    fake = await startFakeGitHub({ token: TOKEN });
  });
  afterAll(async () => {
    repo.remove();
    await fake.server.stop();
  });

  const run = (repository: string, inputs: Record<string, string>, workspace = repo.dir) =>
    compute(
      workspace,
      { 'github-token': TOKEN, 'migrations-dir': 'db/migrations', ...inputs },
      { env: { ...fake.server.env(), GITHUB_REPOSITORY: `acme/${repository}` } },
    );

  /** Deploys like a pipeline does: a deployment, then its final status (GitHub's auto_inactive applies). */
  async function deploy(
    repository: string,
    environment: string,
    ref: string,
    state: 'success' | 'failure' | 'error',
  ): Promise<number> {
    const created = await api().rest.repos.createDeployment({
      owner: 'acme',
      repo: repository,
      ref,
      environment,
      auto_merge: false,
      required_contexts: [],
      production_environment: environment === 'production',
    });
    const id = (created.data as { id: number }).id;
    await api().rest.repos.createDeploymentStatus({
      owner: 'acme',
      repo: repository,
      deployment_id: id,
      state: 'in_progress',
    });
    await api().rest.repos.createDeploymentStatus({ owner: 'acme', repo: repository, deployment_id: id, state });
    return id;
  }

  it('production: current is the latest deployment, the target the newest earlier successful one (a failed v1.2.0 is passed over)', async () => {
    await deploy('prod-app', 'production', 'v1.1.0', 'success');
    // Pipelines that deploy by commit: the SHA maps back to its release tag through git.
    const failedId = await deploy('prod-app', 'production', repo.commitOf('v1.2.0'), 'failure');
    await deploy('prod-app', 'production', 'v1.3.0', 'success');
    await deploy('prod-app', 'staging', 'v1.2.0', 'success'); // another environment: ignored

    const result = await run('prod-app', { environment: 'production', target: 'last-successful-deployment' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'current-tag': 'v1.3.0',
      'target-tag': 'v1.1.0',
      strategy: 'down-migrations',
      'target-schema-version': '3',
    });
    expect(migrationsOf(result).map((migration) => migration.version)).toEqual(['5', '4']);
    expect(result.summary).toMatch(/\| Current \| v1.3.0 \(latest deployment to production \(id \d+, success\)\) \|/);
    expect(result.summary).toContain(
      `| v1.2.0 (deployment ${failedId} (${repo.commitOf('v1.2.0')})) | its deployment ended failure |`,
    );
    expect(leaksOf(result, TOKEN)).toEqual([]);
    expect(result.masks).toContain(TOKEN);
  });

  it('staging: a deployment GitHub marked inactive when a later one succeeded still counts as successful', async () => {
    await deploy('staging-app', 'staging', 'v1.1.0', 'success');
    await deploy('staging-app', 'staging', 'v1.2.0', 'success');
    await deploy('staging-app', 'staging', 'v1.3.0', 'success');
    const { data: deployments } = await api().rest.repos.listDeployments({
      owner: 'acme',
      repo: 'staging-app',
      environment: 'staging',
    });
    const { data: statuses } = await api().rest.repos.listDeploymentStatuses({
      owner: 'acme',
      repo: 'staging-app',
      deployment_id: deployments[1].id,
    });
    expect(statuses[0].state).toBe('inactive'); // the premise: auto_inactive superseded v1.2.0

    const result = await run('staging-app', { environment: 'staging', target: 'last-successful-deployment' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({ 'current-tag': 'v1.3.0', 'target-tag': 'v1.2.0', strategy: 'image-only' });
    expect(result.summary).toMatch(/\| Target \| v1.2.0 \(deployment \d+ to staging \(success, since superseded, /);
  });

  it('after a rollback, the newer bad release is no target: last-successful-deployment only goes back in versions', async () => {
    await deploy('rolled-app', 'production', 'v1.1.0', 'success');
    await deploy('rolled-app', 'production', 'v1.3.0', 'success');
    await deploy('rolled-app', 'production', 'v1.2.0', 'success'); // the rollback: now current
    const result = await run('rolled-app', { environment: 'production', target: 'last-successful-deployment' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({ 'current-tag': 'v1.2.0', 'target-tag': 'v1.1.0' });
    expect(result.summary).toMatch(
      /\| v1.3.0 \(deployment \d+ \(v1.3.0\)\) \| newer than the current version v1.2.0 \|/,
    );
  });

  it('warns when the latest deployment did not succeed, and fails clearly when nothing earlier succeeded', async () => {
    await deploy('failing-app', 'production', 'v1.2.0', 'failure');
    await deploy('failing-app', 'production', 'v1.3.0', 'error');
    const previous = await run('failing-app', { environment: 'production', target: 'previous' });
    expectSuccess(previous);
    expect(previous.outputs['current-tag']).toBe('v1.3.0');
    expect(warningsOf(previous)[0]).toEqual({
      kind: 'current-deployment',
      message: expect.stringMatching(/is "error", not success: check what actually runs/),
    });

    const none = await run('failing-app', { environment: 'production', target: 'last-successful-deployment' });
    expectRefused(
      none,
      /^Input "target" is "last-successful-deployment", but environment "production" has no successful deployment of a release older than v1.3.0\. Passed over: v1.2.0 \(deployment \d+ \(v1.2.0\)\): its deployment ended failure\./,
    );
  });

  it('a release GitHub marks as pre-release is no "previous" target', async () => {
    fake.releases.addRelease('acme', 'released-app', 'v1.1.0');
    fake.releases.addRelease('acme', 'released-app', 'v1.2.0', { prerelease: true });
    fake.releases.addRelease('acme', 'released-app', 'v1.3.0');
    fake.releases.addRelease('acme', 'released-app', 'v1.4.0', { draft: true });
    const result = await run('released-app', { current: 'v1.3.0', target: 'previous' });
    expectSuccess(result);
    expect(result.outputs['target-tag']).toBe('v1.1.0');
    expect(result.summary).toMatch(/\| v1.2.0 \| a pre-release \(set allow-prerelease: true to allow it\) \|/);
    expectRefused(
      await run('released-app', { current: 'v1.3.0', target: 'v1.2.0' }),
      /^Input "target" names v1.2.0, which is a pre-release \(set allow-prerelease: true to allow it\)\./,
    );
  });

  it('without a git checkout, tags come from the releases and tags API (image-only plan)', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'no-checkout-'));
    try {
      for (const tag of ['api-v2.0.0', 'api-v2.1.0', 'api-v2.2.0-beta.1'])
        fake.releases.addTag('acme', 'api-only', tag);
      fake.releases.addTag('acme', 'api-only', 'v9.0.0'); // another component's tag
      const result = await compute(
        empty,
        { 'github-token': TOKEN, 'tag-prefix': 'api-v', current: 'api-v2.2.0-beta.1', target: 'previous' },
        { env: { ...fake.server.env(), GITHUB_REPOSITORY: 'acme/api-only' } },
      );
      expectSuccess(result);
      expect(result.outputs).toMatchObject({
        'current-tag': 'api-v2.2.0-beta.1',
        'target-tag': 'api-v2.1.0',
        strategy: 'image-only',
        'target-schema-version': '',
        migrations: '[]',
      });
      expect(result.summary).toContain('is not a git checkout: tags come from the GitHub API only.');

      expectRefused(
        await compute(empty, { current: 'api-v2.1.0', target: 'previous', 'tag-prefix': 'api-v' }),
        /^Input "repository-path" names .*, which is not a git checkout \(without github-token, tags come from git only\)\.\nHint: Check the repository out first with full history/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("a shallow clone cannot show older releases' migrations; a tag only on GitHub cannot be read either", async () => {
    const shallow = mkdtempSync(path.join(os.tmpdir(), 'shallow-'));
    try {
      execFileSync('git', ['clone', '-q', '--depth', '1', `file://${repo.dir}`, shallow]);
      expectRefused(
        await run('shallow-app', { current: 'v1.3.0', target: 'v1.2.0' }, shallow),
        /^Input "repository-path" is a shallow clone: the migrations of older releases are not in it\.\nHint: .*fetch-depth: 0/,
      );
    } finally {
      rmSync(shallow, { recursive: true, force: true });
    }
    fake.releases.addRelease('acme', 'ahead-app', 'v1.4.0');
    const ahead = await run('ahead-app', { current: 'v1.4.0', target: 'v1.2.0' });
    expect(ahead.exitCode).toBe(1);
    expect(ahead.errors[0]).toMatch(
      /^Release v1.4.0 is on GitHub but not in the checkout, so its migrations cannot be read\.\nHint: Check out with "fetch-depth: 0"/,
    );
  });

  it('a rejected token fails with the status and a hint, and stays masked', async () => {
    const wrong = 'ghs_not_the_right_token';
    const result = await compute(
      repo.dir,
      { 'github-token': wrong, current: 'v1.3.0', target: 'previous' },
      { env: fake.server.env() },
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      /^GitHub rejected github-token while listing (releases|tags) of acme\/shop \(401: Bad credentials/,
    );
    expect(leaksOf(result, wrong)).toEqual([]);
  });
});

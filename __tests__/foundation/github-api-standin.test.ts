import { getOctokit } from '@actions/github';
import { startFakeGitHub } from '../../testkit/github-api/index.js';

/** The REST stand-in answers the real Octokit client the way api.github.com does. */
describe('GitHub REST API stand-in', () => {
  let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
  beforeAll(async () => {
    fake = await startFakeGitHub({ token: 'ghs_test' });
  });
  afterAll(() => fake.server.stop());

  const octokit = (token = 'ghs_test') => getOctokit(token, { baseUrl: fake.server.baseUrl });

  it('creates deployments and statuses and marks earlier successes inactive', async () => {
    const api = octokit();
    const first = await api.rest.repos.createDeployment({
      owner: 'acme',
      repo: 'shop',
      ref: 'v1.1.0',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
    });
    expect(first.status).toBe(201);
    const firstId = (first.data as { id: number }).id;
    await api.rest.repos.createDeploymentStatus({
      owner: 'acme',
      repo: 'shop',
      deployment_id: firstId,
      state: 'success',
    });
    const second = await api.rest.repos.createDeployment({
      owner: 'acme',
      repo: 'shop',
      ref: 'v1.2.0',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
    });
    const secondId = (second.data as { id: number }).id;
    await api.rest.repos.createDeploymentStatus({
      owner: 'acme',
      repo: 'shop',
      deployment_id: secondId,
      state: 'success',
    });

    const { data: deployments } = await api.rest.repos.listDeployments({
      owner: 'acme',
      repo: 'shop',
      environment: 'staging',
    });
    expect(deployments.map((deployment) => deployment.ref)).toEqual(['v1.2.0', 'v1.1.0']);
    const { data: statuses } = await api.rest.repos.listDeploymentStatuses({
      owner: 'acme',
      repo: 'shop',
      deployment_id: firstId,
    });
    expect(statuses.map((status) => status.state)).toEqual(['inactive', 'success']);
  });

  it('paginates with Link headers that Octokit follows', async () => {
    for (let patch = 0; patch < 45; patch++) fake.releases.addRelease('acme', 'paged', `v2.0.${patch}`);
    const all = await octokit().paginate(octokit().rest.repos.listReleases, {
      owner: 'acme',
      repo: 'paged',
      per_page: 20,
    });
    expect(all).toHaveLength(45);
    expect(new Set(all.map((release) => release.tag_name)).size).toBe(45);
  });

  it('rejects a wrong token like GitHub: 401 Bad credentials', async () => {
    await expect(octokit('wrong').rest.repos.listTags({ owner: 'acme', repo: 'shop' })).rejects.toMatchObject({
      status: 401,
      message: expect.stringContaining('Bad credentials'),
    });
  });
});

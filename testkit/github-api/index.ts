import { DeploymentsApi } from './deployments.js';
import { IssuesApi } from './issues.js';
import { ReleasesApi } from './releases.js';
import { FakeGitHubServer } from './server.js';

export { FakeGitHubServer } from './server.js';

/** A started GitHub API stand-in with the deployments, releases, tags and issues endpoints. */
export async function startFakeGitHub(
  options: { token?: string; tls?: { cert: string; key: string } } = {},
): Promise<{ server: FakeGitHubServer; deployments: DeploymentsApi; releases: ReleasesApi; issues: IssuesApi }> {
  const server = new FakeGitHubServer();
  server.requiredToken = options.token;
  const deployments = new DeploymentsApi(server);
  const releases = new ReleasesApi(server);
  const issues = new IssuesApi(server);
  await server.start(options.tls);
  return { server, deployments, releases, issues };
}

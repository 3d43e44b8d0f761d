import { DeploymentsApi } from './deployments.js';
import { ReleasesApi } from './releases.js';
import { FakeGitHubServer } from './server.js';

export { FakeGitHubServer } from './server.js';

/** A started GitHub API stand-in with the deployments, releases and tags endpoints. */
export async function startFakeGitHub(options: { token?: string } = {}): Promise<{ server: FakeGitHubServer; deployments: DeploymentsApi; releases: ReleasesApi }> {
  const server = new FakeGitHubServer();
  server.requiredToken = options.token;
  const deployments = new DeploymentsApi(server);
  const releases = new ReleasesApi(server);
  await server.start();
  return { server, deployments, releases };
}

import type { DeploymentState, GitHubClient, Repository } from '../github/deployments.js';
import { githubCall } from './github.js';

/**
 * Deployments of an environment, newest first, each with what became of it.
 *
 * GitHub marks an earlier successful deployment `inactive` when a later one succeeds (auto_inactive,
 * the default outside production environments). `inactive` therefore means "superseded", not
 * "failed": the outcome of a deployment is its latest status other than `inactive`, so a release that
 * deployed fine and was later replaced still counts as a successful deployment.
 */
export interface DeploymentRecord {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  createdAt: string;
  /** The newest status, as GitHub shows it (undefined when the deployment has none yet). */
  latestState?: DeploymentState;
  /** The newest status that is not `inactive`: how the deployment itself went. */
  outcome?: DeploymentState;
}

/** Deployments of the environment, newest first, fetching each one's statuses only when reached. */
export async function* environmentDeployments(
  client: GitHubClient,
  repo: Repository,
  environment: string,
): AsyncGenerator<DeploymentRecord> {
  const iterable = client.paginate.iterator(client.rest.repos.listDeployments, { ...repo, environment, per_page: 30 });
  const pages = iterable[Symbol.asyncIterator]();
  const where = `reading deployments of environment "${environment}" in ${repo.owner}/${repo.repo}`;
  for (;;) {
    const page = await githubCall(where, () => pages.next());
    if (page.done) return;
    const deployments = [...page.value.data].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
    for (const deployment of deployments) {
      const statuses = await githubCall(`reading the statuses of deployment ${deployment.id}`, () =>
        client.paginate(client.rest.repos.listDeploymentStatuses, {
          ...repo,
          deployment_id: deployment.id,
          per_page: 100,
        }),
      );
      const newestFirst = [...statuses].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
      yield {
        id: deployment.id,
        ref: deployment.ref,
        sha: deployment.sha,
        environment: deployment.environment,
        createdAt: deployment.created_at,
        latestState: newestFirst[0]?.state as DeploymentState | undefined,
        outcome: newestFirst.find((status) => status.state !== 'inactive')?.state as DeploymentState | undefined,
      };
    }
  }
}

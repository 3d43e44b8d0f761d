import type { getOctokit } from '@actions/github';

/**
 * GitHub deployments for rollbacks, so the repository's Environments page shows what runs where:
 * a deployment per redeploy (ref = the image tag), statuses in_progress -> success/failure, and
 * the earlier successful deployments of the environment marked inactive once a new one succeeds.
 * GitHub does that last part by itself only for non-production environments (auto_inactive), and
 * production is exactly where rollbacks happen, so it is done explicitly here.
 *
 * Split into steps so a workflow can leave the deployment in_progress after the redeploy and mark
 * it success only once its smoke tests pass (completeDeployment from a later step).
 */
export type GitHubClient = ReturnType<typeof getOctokit>;
export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive' | 'queued' | 'pending';

export interface Repository {
  owner: string;
  repo: string;
}

export interface DeploymentRequest {
  /** The image tag deployed. GitHub resolves it as a git ref: the tag must exist in the repository. */
  ref: string;
  environment: string;
  description: string;
  task?: string;
  payload?: Record<string, unknown>;
  productionEnvironment?: boolean;
}

export interface StatusDetails {
  description?: string;
  /** Link from the status to the workflow run that made it. */
  logUrl?: string;
  /** The deployed application's URL, shown on the Environments page. */
  environmentUrl?: string;
}

/** The repository of the current run (GITHUB_REPOSITORY); undefined outside a run. */
export function repositoryFromEnv(env: NodeJS.ProcessEnv = process.env): Repository | undefined {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  return owner && repo ? { owner, repo } : undefined;
}

/** GitHub limits status descriptions to 140 characters. */
export function statusDescription(text: string): string {
  return text.length <= 140 ? text : `${text.slice(0, 139)}…`;
}

/**
 * Set by the rollback-actions command for a run of the local runner: "local run on <host> at
 * <time>, record <dir>". Such a run has no page on GitHub, whatever GITHUB_SERVER_URL says.
 */
export const LOCAL_RUN_ENV = 'ROLLBACK_LOCAL_RUN';

/**
 * The current workflow run's page, from the runner's environment (a deployment status's log_url);
 * undefined outside a run, and for a local run, whose run id names no page on GitHub.
 */
export function workflowRunUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[LOCAL_RUN_ENV]) return undefined;
  const {
    GITHUB_SERVER_URL: server,
    GITHUB_REPOSITORY: repository,
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: attempt,
  } = env;
  if (!server || !repository || !runId) return undefined;
  return `${server}/${repository}/actions/runs/${runId}${attempt ? `/attempts/${attempt}` : ''}`;
}

export async function createDeployment(
  client: GitHubClient,
  repository: Repository,
  request: DeploymentRequest,
): Promise<number> {
  const response = await client.rest.repos.createDeployment({
    ...repository,
    ref: request.ref,
    environment: request.environment,
    description: statusDescription(request.description),
    task: request.task ?? 'deploy',
    payload: request.payload ?? {},
    // A rollback redeploys a release that already passed its checks, and must not merge branches.
    required_contexts: [],
    auto_merge: false,
    production_environment: request.productionEnvironment,
  });
  if (response.status !== 201 || !('id' in response.data)) {
    throw new Error(
      `GitHub did not create a deployment for ${request.ref}: ${JSON.stringify(response.data).slice(0, 200)}`,
    );
  }
  return response.data.id;
}

export async function setDeploymentStatus(
  client: GitHubClient,
  repository: Repository,
  deploymentId: number,
  state: DeploymentState,
  details: StatusDetails = {},
): Promise<void> {
  await client.rest.repos.createDeploymentStatus({
    ...repository,
    deployment_id: deploymentId,
    state,
    description: details.description === undefined ? undefined : statusDescription(details.description),
    log_url: details.logUrl,
    environment_url: details.environmentUrl,
    // Done below for every kind of environment, production included.
    auto_inactive: false,
  });
}

/**
 * Marks the environment's other deployments whose latest status is success as inactive, newest
 * first, looking at most `limit` back. Returns the IDs it changed.
 */
export async function markPreviousDeploymentsInactive(
  client: GitHubClient,
  repository: Repository,
  environment: string,
  currentId: number,
  limit = 20,
): Promise<number[]> {
  const { data: deployments } = await client.rest.repos.listDeployments({
    ...repository,
    environment,
    per_page: limit,
  });
  const changed: number[] = [];
  for (const deployment of deployments) {
    if (deployment.id === currentId) continue;
    const { data: statuses } = await client.rest.repos.listDeploymentStatuses({
      ...repository,
      deployment_id: deployment.id,
      per_page: 1,
    });
    if (statuses[0]?.state !== 'success') continue;
    await client.rest.repos.createDeploymentStatus({
      ...repository,
      deployment_id: deployment.id,
      state: 'inactive',
      auto_inactive: false,
    });
    changed.push(deployment.id);
  }
  return changed;
}

/** The final status of a deployment; on success the environment's previous deployments become inactive. */
export async function completeDeployment(
  client: GitHubClient,
  repository: Repository,
  deploymentId: number,
  environment: string,
  success: boolean,
  details: StatusDetails = {},
): Promise<{ inactivated: number[] }> {
  await setDeploymentStatus(client, repository, deploymentId, success ? 'success' : 'failure', details);
  if (!success) return { inactivated: [] };
  return { inactivated: await markPreviousDeploymentsInactive(client, repository, environment, deploymentId) };
}

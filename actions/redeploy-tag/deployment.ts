import * as core from '@actions/core';
import { errorMessage } from '../../shared/errors.js';
import {
  completeDeployment,
  createDeployment,
  repositoryFromEnv,
  setDeploymentStatus,
  workflowRunUrl,
  type GitHubClient,
} from '../../shared/github/deployments.js';
import { gitHubDidNotAnswer } from '../../shared/github/no-answer.js';

/**
 * The redeploy's GitHub deployment. Recording it must never stand in the way of the rollback
 * itself: an API failure (missing `deployments: write`, the tag not pushed to the repository)
 * becomes a warning that says how to fix it, and the redeploy goes on.
 */
export interface DeploymentRecorder {
  id?: number;
  finish(success: boolean, description: string): Promise<void>;
}

const PERMISSION_HINT =
  'Give the job `permissions: deployments: write` and make sure the tag exists in the repository (GitHub resolves the deployment ref as a git ref).';

/** An outage is waited out (the ledger keeps the deploy for sync); a refusal is a permission to fix. */
function notRecordedHint(error: unknown, ledger: string | undefined): string {
  if (!gitHubDidNotAnswer(error)) return PERMISSION_HINT;
  return ledger
    ? `GitHub did not answer: the deploy is recorded in the deployment ledger ${ledger} without a GitHub deployment, and \`rollback-actions sync\` records it on GitHub when GitHub answers again.`
    : 'GitHub did not answer: this deploy has no GitHub deployment (with a ledger, `rollback-actions sync` would record it later).';
}

export async function startDeploymentRecord(options: {
  token: string;
  environment: string;
  tag: string;
  description: string;
  payload: Record<string, unknown>;
  environmentUrl?: string;
  complete: boolean;
  /** The deployment ledger this deploy is also recorded in: what `rollback-actions sync` records on GitHub later. */
  ledger?: string;
}): Promise<DeploymentRecorder> {
  const repository = repositoryFromEnv();
  if (!repository) {
    core.warning('Not recording a GitHub deployment: GITHUB_REPOSITORY is not set (not running in GitHub Actions?).');
    return { finish: async () => undefined };
  }
  // Loaded only when a deployment is recorded: Octokit is most of the bundle's start-up time.
  const { getOctokit } = await import('@actions/github');
  const client: GitHubClient = getOctokit(options.token);
  const logUrl = workflowRunUrl();
  let id: number;
  try {
    id = await createDeployment(client, repository, {
      ref: options.tag,
      environment: options.environment,
      description: options.description,
      payload: options.payload,
    });
    await setDeploymentStatus(client, repository, id, 'in_progress', {
      description: options.description,
      logUrl,
      environmentUrl: options.environmentUrl,
    });
    core.info(`GitHub deployment ${id} for environment "${options.environment}" (ref ${options.tag}): in_progress.`);
  } catch (error) {
    core.warning(
      `Could not record a GitHub deployment for "${options.environment}": ${errorMessage(error)}. ${notRecordedHint(error, options.ledger)}`,
    );
    return { finish: async () => undefined };
  }
  return {
    id,
    async finish(success, description) {
      try {
        if (success && !options.complete) {
          core.info(
            `GitHub deployment ${id} left in_progress (complete-deployment: false): a later step marks it success.`,
          );
          return;
        }
        const { inactivated } = await completeDeployment(client, repository, id, options.environment, success, {
          description,
          logUrl,
          environmentUrl: options.environmentUrl,
        });
        core.info(
          `GitHub deployment ${id}: ${success ? 'success' : 'failure'}${inactivated.length > 0 ? `; earlier deployment(s) ${inactivated.join(', ')} marked inactive` : ''}.`,
        );
      } catch (error) {
        core.warning(`Could not update GitHub deployment ${id}: ${errorMessage(error)}. ${PERMISSION_HINT}`);
      }
    },
  };
}

import * as core from '@actions/core';
import { errorMessage } from '../errors.js';
import { completeDeployment, repositoryFromEnv, workflowRunUrl, type GitHubClient } from './deployments.js';
import { gitHubDidNotAnswer } from './no-answer.js';

/**
 * The verdict on a deployment left in_progress by an earlier step (redeploy-tag with
 * complete-deployment: false): success only once the checks that prove the release healthy have
 * passed, so "last successful deployment" never names a release that was never healthy.
 *
 * A failure to record becomes a warning, never a failed step: the verdict itself stands, and an
 * unrecorded success only makes a later rollback choose an older (still verified) release.
 */
export interface DeploymentOutcome {
  token: string;
  deploymentId: number;
  /** The deployment's environment: its earlier successful deployments are marked inactive on success. */
  environment: string;
  success: boolean;
  description: string;
  environmentUrl?: string;
}

/** Returns the state recorded, or undefined when it could not be recorded (a warning says why). */
export async function recordDeploymentOutcome(outcome: DeploymentOutcome): Promise<'success' | 'failure' | undefined> {
  const repository = repositoryFromEnv();
  if (!repository) {
    core.warning(
      `Not recording deployment ${outcome.deploymentId}: GITHUB_REPOSITORY is not set (not running in GitHub Actions?).`,
    );
    return undefined;
  }
  // Loaded only when a deployment is recorded: Octokit is most of a bundle's start-up time.
  const { getOctokit } = await import('@actions/github');
  const client: GitHubClient = getOctokit(outcome.token);
  const state = outcome.success ? 'success' : 'failure';
  try {
    const { inactivated } = await completeDeployment(
      client,
      repository,
      outcome.deploymentId,
      outcome.environment,
      outcome.success,
      {
        description: outcome.description,
        logUrl: workflowRunUrl(),
        environmentUrl: outcome.environmentUrl,
      },
    );
    core.info(
      `GitHub deployment ${outcome.deploymentId}: ${state}${inactivated.length > 0 ? `; earlier deployment(s) ${inactivated.join(', ')} marked inactive` : ''}.`,
    );
    return state;
  } catch (error) {
    core.warning(
      `Could not mark GitHub deployment ${outcome.deploymentId} ${state}: ${errorMessage(error)}. ${
        gitHubDidNotAnswer(error)
          ? 'GitHub did not answer: with a ledger, the verdict is kept there and `rollback-actions sync` marks the deployment when GitHub answers again.'
          : 'Give the job `permissions: deployments: write`.'
      }`,
    );
    return undefined;
  }
}

import type { DeploymentRecord } from '../releases/deployments.js';

/**
 * Whether an automatic rollback should run, decided from what GitHub knows: the environment's
 * latest deployment (through the same deployments code compute-rollback-target reads) and, when
 * auto-rollback.yml was started by a workflow_run event rather than called, that run's conclusion.
 *
 * A called auto-rollback sees its caller's event (GitHub gives a called workflow the caller's
 * github context): a deploy started by `push` or by `workflow_run` of a build that succeeded. So
 * "was I called" comes from the inputs (a call always names the environment), never from
 * github.event_name.
 */
export interface DecideFacts {
  /** Called by a deploy workflow (workflow_call), rather than started by a workflow_run event. */
  called: boolean;
  environment: string;
  /** The workflow_run payload when auto-rollback.yml itself was started by one. */
  workflowRun?: { name?: string; conclusion?: string; html_url?: string; updated_at?: string };
  failedTag?: string;
  reason?: string;
  detectedAt?: string;
  /** The environment's newest deployment, if it has any. */
  latest?: DeploymentRecord;
  now: Date;
}

export interface Decision {
  rollBack: boolean;
  /** Why, in one sentence (for the log and the summary). */
  explanation: string;
  failedTag: string;
  detectedAt: string;
  reason: string;
  latestState: string;
  warnings: string[];
}

/** States of a latest deployment that mean a release went out and was not proven healthy. */
const UNHEALTHY = ['failure', 'error', 'in_progress', 'queued', 'pending'];

export function decide(facts: DecideFacts): Decision {
  const latestState = facts.latest ? (facts.latest.latestState ?? 'none') : 'none';
  const failedTag = facts.failedTag || facts.latest?.ref || '';
  const trigger = facts.workflowRun?.name
    ? `${facts.workflowRun.name} failed: ${facts.workflowRun.html_url ?? ''}`.trim()
    : '';
  const reason = `Automatic rollback: ${(facts.reason || trigger || 'deploy checks failed').replace(/\s+/g, ' ').trim()}`;
  const detectedAt =
    facts.detectedAt || (facts.called ? undefined : facts.workflowRun?.updated_at) || facts.now.toISOString();
  const warnings: string[] = [];
  if (facts.failedTag && facts.latest && facts.latest.ref !== facts.failedTag) {
    warnings.push(
      `The failed tag ${facts.failedTag} is not the latest deployment of ${facts.environment} (${facts.latest.ref}): rolling back from ${facts.failedTag}.`,
    );
  }
  const base = { failedTag, detectedAt, reason, latestState, warnings };

  if (!facts.called && facts.workflowRun?.conclusion !== 'failure') {
    return {
      ...base,
      rollBack: false,
      explanation:
        `The deploy run ${facts.workflowRun?.name ?? ''} ended ${facts.workflowRun?.conclusion ?? 'without a conclusion'}, not failure: nothing to roll back.`.replace(
          /\s+/g,
          ' ',
        ),
    };
  }
  if (!facts.latest)
    return { ...base, rollBack: false, explanation: `${facts.environment} has no deployments: nothing to roll back.` };
  if (!UNHEALTHY.includes(latestState)) {
    return {
      ...base,
      rollBack: false,
      explanation: `The latest deployment of ${facts.environment} (${facts.latest.ref}, id ${facts.latest.id}) is '${latestState}': nothing to roll back.`,
    };
  }
  return {
    ...base,
    rollBack: true,
    explanation: `The latest deployment of ${facts.environment} (${facts.latest.ref}, id ${facts.latest.id}) is '${latestState}': rolling back.`,
  };
}

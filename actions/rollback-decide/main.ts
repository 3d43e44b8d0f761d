import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { setOutputs } from '../../shared/outputs.js';
import { environmentDeployments, type DeploymentRecord } from '../../shared/releases/deployments.js';
import { currentRepository, githubClient } from '../../shared/releases/github.js';
import { keyValueTable, writeSummary } from '../../shared/summary.js';
import { decide, type DecideFacts } from '../../shared/workflows/decide.js';
import { readDecideInputs } from './inputs.js';

/** The workflow_run payload, when this run was started by one (the event file the runner wrote). */
function workflowRunEvent(): DecideFacts['workflowRun'] {
  if (process.env.GITHUB_EVENT_NAME !== 'workflow_run' || !process.env.GITHUB_EVENT_PATH) return undefined;
  return (
    JSON.parse(readFileSync(process.env.GITHUB_EVENT_PATH, 'utf8')) as { workflow_run?: DecideFacts['workflowRun'] }
  ).workflow_run;
}

export async function run(): Promise<void> {
  const inputs = readDecideInputs();
  const client = await githubClient(inputs.githubToken);
  let latest: DeploymentRecord | undefined;
  for await (const deployment of environmentDeployments(client, currentRepository(), inputs.environment)) {
    latest = deployment;
    break;
  }
  const decision = decide({
    ...inputs,
    workflowRun: inputs.called ? undefined : workflowRunEvent(),
    latest,
    now: new Date(),
  });
  for (const warning of decision.warnings) core.warning(warning);
  if (decision.rollBack) core.info(decision.explanation);
  else core.notice(decision.explanation, { title: 'No rollback' });
  setOutputs({
    'roll-back': decision.rollBack,
    'failed-tag': decision.failedTag,
    'detected-at': decision.detectedAt,
    reason: decision.reason,
    'latest-state': decision.latestState,
    explanation: decision.explanation,
  });
  await writeSummary(
    `### ${decision.rollBack ? 'Rolling back' : 'No rollback'}: ${inputs.environment}\n\n${decision.explanation}\n\n` +
      keyValueTable([
        ['Latest deployment', latest ? `${latest.ref} (id ${latest.id}, ${decision.latestState})` : 'none'],
        ['Failed release', decision.failedTag || '–'],
        ['Detected at', decision.detectedAt],
        ['Reason', decision.reason],
      ]),
  );
}

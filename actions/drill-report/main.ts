import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { ActionError, InputError } from '../../shared/errors.js';
import { workflowRunReference } from '../../shared/github/run-reference.js';
import { setOutputs } from '../../shared/outputs.js';
import { currentRepository, githubCall, githubClient, GitHubUnreachableError } from '../../shared/releases/github.js';
import { writeSummary } from '../../shared/summary.js';
import { drillMarkdown, drillMatrix } from '../../shared/workflows/drill.js';
import { readDrillReportInputs, type DrillReportInputs } from './inputs.js';

const LABEL = 'rollback-drill';

/** Opens an issue labelled rollback-drill with the matrix, or comments on the open one. */
async function reportIssue(inputs: DrillReportInputs, token: string, body: string): Promise<number> {
  const client = await githubClient(token);
  const repo = currentRepository();
  const open = await githubCall('listing open rollback-drill issues', () =>
    client.rest.issues.listForRepo({ ...repo, labels: LABEL, state: 'open', per_page: 1 }),
  );
  const existing = open.data[0];
  if (existing) {
    await githubCall(`commenting on issue #${existing.number}`, () =>
      client.rest.issues.createComment({ ...repo, issue_number: existing.number, body }),
    );
    core.info(`Commented on issue #${existing.number}.`);
    return existing.number;
  }
  const created = await githubCall('opening the rollback-drill issue', () =>
    client.rest.issues.create({
      ...repo,
      title: `Rollback drill failed: ${inputs.environment}`,
      body,
      labels: [LABEL],
    }),
  );
  core.info(`Opened issue #${created.data.number}.`);
  return created.data.number;
}

export async function run(): Promise<void> {
  const inputs = readDrillReportInputs();
  const matrix = drillMatrix(inputs.results, new Date(), inputs.targets);
  const problems =
    inputs.uploadOutcome === 'failure'
      ? ['The test matrix could not be kept as an artifact (the upload step failed).']
      : [];
  const markdown = drillMarkdown(matrix, inputs.environment, workflowRunReference(), problems);
  setOutputs({ passed: matrix.passed && problems.length === 0, matrix: matrix.rows, 'matrix-dir': inputs.matrixDir });
  if (!inputs.openIssue) {
    mkdirSync(inputs.matrixDir, { recursive: true });
    writeFileSync(path.join(inputs.matrixDir, 'matrix.json'), `${JSON.stringify(matrix.rows, null, 2)}\n`);
    writeFileSync(path.join(inputs.matrixDir, 'matrix.md'), markdown);
    await writeSummary(markdown);
    return;
  }
  if (matrix.passed && problems.length === 0) {
    core.info('The drill passed and its matrix was kept: no issue to open.');
    setOutputs({ 'issue-number': '' });
    return;
  }
  setOutputs({ 'issue-number': await reportIssueOrSayWhereTheMatrixIs(inputs, markdown) });
}

/**
 * With GitHub unreachable (an outage, or the rollback-actions command run while GitHub is down) no
 * issue tracks the failed drill: the step still fails, and says where its matrix is to be read.
 */
async function reportIssueOrSayWhereTheMatrixIs(inputs: DrillReportInputs, markdown: string): Promise<number> {
  const hint = 'Open or update the rollback-drill issue from that matrix once GitHub answers (or rerun this job).';
  if (!inputs.githubToken)
    throw new InputError(
      'github-token',
      `is empty, so the failed drill's rollback-drill issue could not be opened (from the rollback-actions command: GitHub did not answer when it started). ${whereTheMatrixIs(inputs)}`,
      { hint },
    );
  try {
    return await reportIssue(inputs, inputs.githubToken, markdown);
  } catch (error) {
    if (!(error instanceof GitHubUnreachableError)) throw error;
    throw new ActionError(
      `The drill failed, and its rollback-drill issue could not be opened because ${error.message.replace(/\.?$/, '.')} ${whereTheMatrixIs(inputs)}`,
      { hint, cause: error },
    );
  }
}

function whereTheMatrixIs(inputs: DrillReportInputs): string {
  const kept =
    inputs.uploadOutcome === 'success'
      ? 'in the matrix artifact (from the rollback-actions command: the artifacts folder of its record)'
      : `in ${inputs.matrixDir} on this runner (matrix.json, matrix.md; it was not kept as an artifact)`;
  return `The test matrix is in this job's summary and ${kept}.`;
}

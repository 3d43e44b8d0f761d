import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { workflowRunReference } from '../../shared/github/run-reference.js';
import { setOutputs } from '../../shared/outputs.js';
import { currentRepository, githubCall, githubClient } from '../../shared/releases/github.js';
import { writeSummary } from '../../shared/summary.js';
import { drillMarkdown, drillMatrix } from '../../shared/workflows/drill.js';
import { readDrillReportInputs, type DrillReportInputs } from './inputs.js';

const LABEL = 'rollback-drill';

/** Opens an issue labelled rollback-drill with the matrix, or comments on the open one. */
async function reportIssue(inputs: DrillReportInputs, body: string): Promise<number> {
  const client = await githubClient(inputs.githubToken!);
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
  setOutputs({ 'issue-number': await reportIssue(inputs, markdown) });
}

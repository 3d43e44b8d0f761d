import * as core from '@actions/core';
import { workflowRunReference } from '../../shared/github/run-reference.js';
import { setOutputs } from '../../shared/outputs.js';
import { writeSummary } from '../../shared/summary.js';
import { rollbackReport } from '../../shared/workflows/rollback-report.js';
import { readReportInputs } from './inputs.js';

export async function run(): Promise<void> {
  const report = rollbackReport({ ...readReportInputs(), runUrl: workflowRunReference() });
  setOutputs({
    outcome: report.outcome,
    'detection-to-healthy-seconds': report.detectionToHealthySeconds,
    'downtime-seconds': report.downtimeSeconds,
    message: report.message,
    'incident-record': report.incidentRecord,
  });
  await writeSummary(report.markdown);
  core.info(report.headline);
}

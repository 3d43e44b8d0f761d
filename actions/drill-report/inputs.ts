import os from 'node:os';
import path from 'node:path';
import { booleanInput, enumInput, secretInput, stringInput } from '../../shared/inputs.js';
import { JobResults } from '../../shared/workflows/jobs.js';

export interface DrillReportInputs {
  results: JobResults;
  environment: string;
  matrixDir: string;
  openIssue: boolean;
  uploadOutcome?: 'success' | 'failure' | 'cancelled' | 'skipped';
  githubToken?: string;
}

export function readDrillReportInputs(): DrillReportInputs {
  const openIssue = booleanInput('open-issue', { default: false });
  return {
    results: JobResults.parse(stringInput('results', { required: true }), 'results'),
    environment: stringInput('environment', { required: true }),
    matrixDir: stringInput('matrix-dir') ?? path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'rollback-drill'),
    openIssue,
    uploadOutcome: enumInput('upload-outcome', ['success', 'failure', 'cancelled', 'skipped'] as const),
    githubToken: openIssue ? secretInput('github-token', { required: true }) : undefined,
  };
}

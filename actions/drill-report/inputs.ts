import os from 'node:os';
import path from 'node:path';
import { booleanInput, durationInput, enumInput, secretInput, stringInput } from '../../shared/inputs.js';
import type { RecoveryTargets } from '../../shared/workflows/drill.js';
import { JobResults } from '../../shared/workflows/jobs.js';

export interface DrillReportInputs {
  results: JobResults;
  environment: string;
  matrixDir: string;
  targets: RecoveryTargets;
  openIssue: boolean;
  uploadOutcome?: 'success' | 'failure' | 'cancelled' | 'skipped';
  githubToken?: string;
}

export function readDrillReportInputs(): DrillReportInputs {
  const openIssue = booleanInput('open-issue', { default: false });
  return {
    results: JobResults.parse(stringInput('results', { required: true }), 'results'),
    environment: stringInput('environment', { required: true }),
    targets: { rtoMs: durationInput('rto-target', { min: 1 }), rpoMs: durationInput('rpo-target', { min: 1 }) },
    matrixDir: stringInput('matrix-dir') ?? path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'rollback-drill'),
    openIssue,
    uploadOutcome: enumInput('upload-outcome', ['success', 'failure', 'cancelled', 'skipped'] as const),
    // Empty from the rollback-actions command when GitHub did not answer at its start: main says what that means for the drill.
    githubToken: openIssue ? secretInput('github-token') : undefined,
  };
}

import { booleanInput, stringInput } from '../../shared/inputs.js';
import { JobResults } from '../../shared/workflows/jobs.js';

export interface ReportInputs {
  results: JobResults;
  environment: string;
  reason?: string;
  dryRun: boolean;
}

export function readReportInputs(): ReportInputs {
  return {
    results: JobResults.parse(stringInput('results', { required: true }), 'results'),
    environment: stringInput('environment', { required: true }),
    reason: stringInput('reason'),
    dryRun: booleanInput('dry-run', { default: false }),
  };
}

import { booleanInput, secretInput, stringInput } from '../../shared/inputs.js';
import { IMAGE_TAG_DESCRIPTION, IMAGE_TAG_PATTERN } from '../../shared/tags.js';

export interface DecideInputs {
  environment: string;
  called: boolean;
  failedTag?: string;
  reason?: string;
  detectedAt?: string;
  githubToken: string;
}

export function readDecideInputs(): DecideInputs {
  return {
    environment: stringInput('environment', { required: true }),
    called: booleanInput('called', { default: false }),
    failedTag: stringInput('failed-tag', { pattern: IMAGE_TAG_PATTERN, patternDescription: IMAGE_TAG_DESCRIPTION }),
    reason: stringInput('reason'),
    detectedAt: stringInput('detected-at', {
      pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
      patternDescription: 'an ISO 8601 time such as 2026-01-01T04:00:00Z',
    }),
    githubToken: secretInput('github-token', { required: true }),
  };
}

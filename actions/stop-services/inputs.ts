import { readSshInputs, type SshSettings } from '../../shared/engine/host-inputs.js';
import { booleanInput, listInput, stringInput } from '../../shared/inputs.js';
import { SERVICE_NAME_DESCRIPTION, SERVICE_NAME_PATTERN } from '../../shared/tags.js';

export interface StopInputs {
  services: string[];
  composeFiles: string[];
  projectName?: string;
  workingDirectory: string;
  start: boolean;
  ssh?: SshSettings;
}

export function readStopInputs(): StopInputs {
  return {
    services: listInput('services', {
      required: true,
      itemPattern: SERVICE_NAME_PATTERN,
      itemDescription: SERVICE_NAME_DESCRIPTION,
    }),
    composeFiles: listInput('compose-file'),
    projectName: stringInput('project-name', {
      pattern: /^[a-z0-9][a-z0-9_-]*$/,
      patternDescription: 'a compose project name (lower-case letters, digits, "_" and "-")',
    }),
    workingDirectory: stringInput('working-directory', { default: '.' }),
    start: booleanInput('start', { default: false }),
    ssh: readSshInputs(),
  };
}

import { readSshInputs, type SshSettings } from '../../shared/engine/host-inputs.js';
import { InputError } from '../../shared/errors.js';
import { parseReplicaCounts, type ReplicaCounts } from '../../shared/engine/swarm-scale.js';
import { booleanInput, durationInput, enumInput, jsonInput, listInput, stringInput } from '../../shared/inputs.js';
import { SERVICE_NAME_DESCRIPTION, SERVICE_NAME_PATTERN } from '../../shared/tags.js';

export interface StopInputs {
  services: string[];
  composeFiles: string[];
  projectName?: string;
  workingDirectory: string;
  start: boolean;
  ssh?: SshSettings;
  strategy: 'compose' | 'swarm';
  /** Swarm: the service names as the swarm has them (<stack>_<service> with stack). */
  swarmServices: string[];
  /** Swarm start: the counts the stop recorded. */
  replicas?: ReplicaCounts;
  timeoutMs: number;
}

export function readStopInputs(): StopInputs {
  const services = listInput('services', {
    required: true,
    itemPattern: SERVICE_NAME_PATTERN,
    itemDescription: SERVICE_NAME_DESCRIPTION,
  });
  const strategy = enumInput('strategy', ['compose', 'swarm'] as const, { default: 'compose' });
  const stack = stringInput('stack', {
    pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    patternDescription: 'a stack name (letters, digits, "_", "." and "-")',
  });
  if (stack && strategy !== 'swarm')
    throw new InputError('stack', 'is only used with strategy "swarm": set strategy: swarm or remove it.');
  const start = booleanInput('start', { default: false });
  const replicasJson = jsonInput('replicas');
  const replicas = replicasJson === undefined ? undefined : parseReplicaCounts('replicas', replicasJson);
  if (replicas && strategy !== 'swarm')
    throw new InputError(
      'replicas',
      'is only used with strategy "swarm" and start: compose starts the stopped containers.',
    );
  if (strategy === 'swarm' && start && !replicas)
    throw new InputError(
      'replicas',
      'is required with strategy "swarm" and start: the replicas output of the step that stopped the services (the counts to scale back to).',
    );
  return {
    services,
    strategy,
    swarmServices: services.map((service) => (stack ? `${stack}_${service}` : service)),
    replicas,
    timeoutMs: durationInput('timeout', { default: 120_000, min: 1000 }),
    composeFiles: listInput('compose-file'),
    projectName: stringInput('project-name', {
      pattern: /^[a-z0-9][a-z0-9_-]*$/,
      patternDescription: 'a compose project name (lower-case letters, digits, "_" and "-")',
    }),
    workingDirectory: stringInput('working-directory', { default: '.' }),
    start,
    ssh: readSshInputs(),
  };
}

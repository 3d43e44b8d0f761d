import { readSshInputs, type SshSettings } from '../../shared/engine/host-inputs.js';
import { parseReplicaCounts, type ReplicaCounts } from '../../shared/engine/swarm-scale.js';
import {
  booleanInput,
  durationInput,
  enumInput,
  jsonInput,
  keyValueInput,
  listInput,
  secretInput,
  stringInput,
  urlInput,
} from '../../shared/inputs.js';
import { yamlInput } from '../../shared/yaml-input.js';
import { InputError } from '../../shared/errors.js';
import { readLedgerPath } from '../../shared/ledger/inputs.js';
import { maskUrlCredentials } from '../../shared/secrets.js';
import {
  IMAGE_TAG_DESCRIPTION,
  IMAGE_TAG_PATTERN,
  SERVICE_NAME_DESCRIPTION,
  SERVICE_NAME_PATTERN,
} from '../../shared/tags.js';

export const STRATEGIES = ['compose', 'swarm', 'command'] as const;
export const PULL_POLICIES = ['always', 'missing', 'never'] as const;
export const ON_FAILURE = ['restore-previous', 'leave'] as const;

export interface RedeployInputs {
  strategy: (typeof STRATEGIES)[number];
  tag: string;
  composeFiles: string[];
  projectName?: string;
  /** Strategy swarm: the stack to deploy from compose-file (without it, services are updated one by one). */
  stack?: string;
  services: string[];
  tagVariable: string;
  workingDirectory: string;
  pull: (typeof PULL_POLICIES)[number];
  healthTimeoutMs: number;
  readyUrl?: string;
  onFailure: (typeof ON_FAILURE)[number];
  envOverrides: Record<string, string>;
  ssh?: SshSettings;
  command?: string[];
  /** Repository to pin the services' image to (<image>:<tag>), for compose files that do not read tag-variable. */
  image?: string;
  /** With strategy command: the tag running now (compose reads it from the engine). */
  previousTag?: string;
  environment?: string;
  environmentUrl?: string;
  githubToken?: string;
  /** false leaves the GitHub deployment in_progress for a later step (after smoke tests) to complete. */
  completeDeployment: boolean;
  /** Only check that the image is available where it would run; change nothing. */
  verifyOnly: boolean;
  /** The deployment ledger on the host the services run on. */
  ledger?: string;
  /** Strategy swarm: replica counts to scale the services to (recorded by stop-services when it scaled them to 0). */
  replicas?: ReplicaCounts;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** An image reference without tag or digest: [registry[:port]/]path, lower-case as Docker requires. */
const IMAGE_REPOSITORY =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
/** Swarm stack names: what `docker stack deploy` accepts and prefixes its service names with. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function parseCommand(): string[] | undefined {
  const text = stringInput('command');
  if (text === undefined) return undefined;
  if (text.startsWith('[')) {
    const parsed = yamlInput('command');
    if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((part) => typeof part !== 'string')) {
      throw new InputError('command', 'given as JSON must be a non-empty array of strings.');
    }
    return parsed as string[];
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

export function readRedeployInputs(): RedeployInputs {
  const tag = stringInput('tag', {
    required: true,
    pattern: IMAGE_TAG_PATTERN,
    patternDescription: IMAGE_TAG_DESCRIPTION,
  });
  const strategy = enumInput('strategy', STRATEGIES, { default: 'compose' });
  const command = parseCommand();
  if (strategy === 'command' && !command)
    throw new InputError(
      'command',
      'is required with strategy "command": give the program and its arguments, one per line or as a JSON array.',
    );
  if (strategy !== 'command' && command)
    throw new InputError('command', 'is only used with strategy "command"; set strategy: command or remove it.');

  const services = listInput('services', {
    itemPattern: SERVICE_NAME_PATTERN,
    itemDescription: SERVICE_NAME_DESCRIPTION,
  });
  if (strategy === 'compose' && services.length === 0) {
    throw new InputError(
      'services',
      'is required with strategy "compose": name the service(s) to redeploy (only these are recreated, with --no-deps).',
    );
  }
  const composeFiles = listInput('compose-file');
  const image = stringInput('image', {
    pattern: IMAGE_REPOSITORY,
    patternDescription: 'an image repository without tag, e.g. ghcr.io/acme/api',
  });
  if (image && strategy === 'compose' && composeFiles.length === 0) {
    throw new InputError(
      'compose-file',
      'is required with image: the pinned image goes in an override file layered on top of the listed compose files.',
    );
  }
  const stack = stringInput('stack', {
    pattern: STACK_NAME,
    patternDescription: 'a stack name (letters, digits, "_", "." and "-")',
  });
  const projectName = stringInput('project-name', {
    pattern: PROJECT_NAME,
    patternDescription: 'a compose project name (lower-case letters, digits, "_" and "-")',
  });
  if (stack && strategy !== 'swarm')
    throw new InputError(
      'stack',
      `is only used with strategy "swarm" (got strategy "${strategy}"): set strategy: swarm or remove it.`,
    );
  if (strategy === 'swarm') {
    if (projectName)
      throw new InputError(
        'project-name',
        'is only used with strategy "compose"; with strategy "swarm" name the stack (stack) or the services.',
      );
    if (stack && composeFiles.length === 0)
      throw new InputError(
        'compose-file',
        `is required with stack: the compose file(s) \`docker stack deploy\` deploys stack "${stack}" from.`,
      );
    if (!stack && services.length === 0) {
      throw new InputError(
        'services',
        'is required with strategy "swarm" without stack: name the swarm services to update (as docker service ls shows them), or give stack and compose-file.',
      );
    }
    if (!stack && composeFiles.length > 0)
      throw new InputError(
        'compose-file',
        'is only used with stack: set stack to deploy these files with docker stack deploy, or remove it to update the named services.',
      );
    if (stack && image)
      throw new InputError(
        'image',
        "cannot be used with stack: the compose files' image: lines must read the tag variable; image pins the repository of services updated without a stack.",
      );
  }

  const replicasJson = jsonInput('replicas');
  const replicas = replicasJson === undefined ? undefined : parseReplicaCounts('replicas', replicasJson);
  if (replicas && strategy !== 'swarm')
    throw new InputError('replicas', `is only used with strategy "swarm" (got strategy "${strategy}").`);

  const ssh = readSshInputs();

  const verifyOnly = booleanInput('verify-only', { default: false });
  if (verifyOnly && strategy === 'command' && !image)
    throw new InputError(
      'image',
      'is required with verify-only and strategy "command": it is the image checked (the command itself is not run).',
    );

  const workingDirectory = stringInput('working-directory', { default: '.' });
  const ledger = readLedgerPath(ssh !== undefined, workingDirectory);
  const environment = stringInput('environment');
  const githubToken = secretInput('github-token');
  // Without GitHub (the break-glass command), the ledger is the record; `rollback-actions sync` makes it a deployment later.
  if (environment && !githubToken && !ledger)
    throw new InputError(
      'github-token',
      'is required with environment, to record the deployment (e.g. github-token: ${{ github.token }} with permissions: deployments: write), unless a ledger records it.',
    );

  const readyUrl = urlInput('ready-url');
  // Basic-auth credentials in the URL are secrets like any other.
  if (readyUrl) maskUrlCredentials(readyUrl);

  return {
    strategy,
    tag,
    composeFiles,
    projectName,
    stack,
    services,
    tagVariable: stringInput('tag-variable', {
      default: 'IMAGE_TAG',
      pattern: ENV_NAME,
      patternDescription: 'an environment variable name',
    }),
    workingDirectory,
    pull: enumInput('pull', PULL_POLICIES, { default: 'missing' }),
    healthTimeoutMs: durationInput('health-timeout', { default: 120_000, min: 1000 }),
    readyUrl,
    onFailure: enumInput('on-failure', ON_FAILURE, { default: 'restore-previous' }),
    envOverrides: keyValueInput('env-overrides', { maskValues: true }),
    ssh,
    command,
    image,
    previousTag: stringInput('previous-tag', { pattern: IMAGE_TAG_PATTERN, patternDescription: IMAGE_TAG_DESCRIPTION }),
    environment,
    environmentUrl: urlInput('environment-url'),
    githubToken: environment ? githubToken : undefined,
    completeDeployment: booleanInput('complete-deployment', { default: true }),
    verifyOnly,
    ledger,
    replicas,
  };
}

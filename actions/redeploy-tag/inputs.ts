import { durationInput, enumInput, integerInput, keyValueInput, listInput, secretInput, stringInput, urlInput, yamlInput } from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { IMAGE_TAG_DESCRIPTION, IMAGE_TAG_PATTERN, SERVICE_NAME_DESCRIPTION, SERVICE_NAME_PATTERN } from '../../shared/tags.js';

export const STRATEGIES = ['compose', 'command'] as const;
export const PULL_POLICIES = ['always', 'missing', 'never'] as const;
export const ON_FAILURE = ['restore-previous', 'leave'] as const;

export interface SshSettings {
  host: string;
  user?: string;
  key?: string;
  port: number;
  /** known_hosts content, or 'accept-new' to trust on first use. */
  knownHosts: string;
}

export interface RedeployInputs {
  strategy: (typeof STRATEGIES)[number];
  tag: string;
  composeFiles: string[];
  projectName?: string;
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
  environment?: string;
  githubToken?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const HOST = /^[A-Za-z0-9.:-]+$/;
const USER = /^[a-z_][a-z0-9_.-]*$/i;

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
  return text.split('\n').map((line) => line.trim()).filter(Boolean);
}

export function readRedeployInputs(): RedeployInputs {
  const tag = stringInput('tag', { required: true, pattern: IMAGE_TAG_PATTERN, patternDescription: IMAGE_TAG_DESCRIPTION });
  const strategy = enumInput('strategy', STRATEGIES, { default: 'compose' });
  const command = parseCommand();
  if (strategy === 'command' && !command) throw new InputError('command', 'is required with strategy "command".');

  const sshHost = stringInput('ssh-host', { pattern: HOST, patternDescription: 'a host name or IP address' });
  let ssh: SshSettings | undefined;
  if (sshHost) {
    const knownHosts = stringInput('known-hosts');
    if (!knownHosts) {
      throw new InputError('known-hosts', 'is required with ssh-host: give the host key line(s) (ssh-keyscan output verified out of band), or "accept-new" to trust the first key seen.');
    }
    ssh = {
      host: sshHost,
      user: stringInput('ssh-user', { pattern: USER, patternDescription: 'a user name' }),
      key: secretInput('ssh-key'),
      port: integerInput('ssh-port', { default: 22, min: 1, max: 65535 }),
      knownHosts,
    };
  }

  return {
    strategy,
    tag,
    composeFiles: listInput('compose-file').length > 0 ? listInput('compose-file') : ['docker-compose.yml'],
    projectName: stringInput('project-name', { pattern: PROJECT_NAME, patternDescription: 'a compose project name (lower-case letters, digits, "_" and "-")' }),
    services: listInput('services', { itemPattern: SERVICE_NAME_PATTERN, itemDescription: SERVICE_NAME_DESCRIPTION }),
    tagVariable: stringInput('tag-variable', { default: 'IMAGE_TAG', pattern: ENV_NAME, patternDescription: 'an environment variable name' }),
    workingDirectory: stringInput('working-directory', { default: '.' }),
    pull: enumInput('pull', PULL_POLICIES, { default: 'missing' }),
    healthTimeoutMs: durationInput('health-timeout', { default: 120_000, min: 1000 }),
    readyUrl: urlInput('ready-url'),
    onFailure: enumInput('on-failure', ON_FAILURE, { default: 'restore-previous' }),
    envOverrides: keyValueInput('env-overrides'),
    ssh,
    command,
    environment: stringInput('environment'),
    githubToken: secretInput('github-token'),
  };
}

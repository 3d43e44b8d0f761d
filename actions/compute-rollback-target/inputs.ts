import { booleanInput, enumInput, listInput, secretInput, stringInput } from '../../shared/inputs.js';
import { MIGRATION_FORMATS, type MigrationFormat } from '../../shared/migrations/types.js';
import { IMAGE_TAG_DESCRIPTION, IMAGE_TAG_PATTERN, SERVICE_NAME_DESCRIPTION, SERVICE_NAME_PATTERN } from '../../shared/tags.js';

export const DB_POLICIES = ['auto', 'image-only', 'down-migrations', 'restore-backup'] as const;
export type DbPolicy = (typeof DB_POLICIES)[number];
export const TARGET_KEYWORDS = ['previous', 'last-successful-deployment'] as const;

export type TargetRequest = { kind: 'tag'; tag: string } | { kind: 'previous' } | { kind: 'last-successful-deployment' };

export interface ComputeInputs {
  current?: string;
  target: TargetRequest;
  environment?: string;
  githubToken?: string;
  tagPrefix: string;
  repositoryPath: string;
  migrationsDir?: string;
  migrationsFormat: MigrationFormat;
  compatibilityFile?: string;
  dbPolicy: DbPolicy;
  sameMajor: boolean;
  sameMinor: boolean;
  allowPrerelease: boolean;
  skipTags: string[];
  currentFromService?: string;
}

const TAG_OPTIONS = { pattern: IMAGE_TAG_PATTERN, patternDescription: IMAGE_TAG_DESCRIPTION };

export function readComputeInputs(): ComputeInputs {
  const targetText = stringInput('target', {
    required: true,
    pattern: /^(previous|last-successful-deployment|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/,
    patternDescription: `"previous", "last-successful-deployment" or ${IMAGE_TAG_DESCRIPTION}`,
  });
  const target: TargetRequest =
    targetText === 'previous' || targetText === 'last-successful-deployment' ? { kind: targetText } : { kind: 'tag', tag: targetText };
  return {
    current: stringInput('current', TAG_OPTIONS),
    target,
    environment: stringInput('environment'),
    githubToken: secretInput('github-token'),
    tagPrefix: stringInput('tag-prefix', { default: 'v', pattern: /^[A-Za-z0-9_./-]{0,64}$/, patternDescription: 'a tag prefix such as "v" or "api-v"' }),
    repositoryPath: stringInput('repository-path', { default: '.' }),
    migrationsDir: stringInput('migrations-dir'),
    migrationsFormat: enumInput('migrations-format', MIGRATION_FORMATS, { default: 'golang-migrate' }),
    compatibilityFile: stringInput('compatibility-file'),
    dbPolicy: enumInput('db-policy', DB_POLICIES, { default: 'auto' }),
    sameMajor: booleanInput('same-major', { default: false }),
    sameMinor: booleanInput('same-minor', { default: false }),
    allowPrerelease: booleanInput('allow-prerelease', { default: false }),
    skipTags: listInput('skip-tags', { itemPattern: IMAGE_TAG_PATTERN, itemDescription: IMAGE_TAG_DESCRIPTION }),
    currentFromService: stringInput('current-from-service', { pattern: SERVICE_NAME_PATTERN, patternDescription: SERVICE_NAME_DESCRIPTION }),
  };
}

import path from 'node:path';
import { readSshInputs, type SshSettings } from '../../shared/engine/host-inputs.js';
import { InputError } from '../../shared/errors.js';
import { booleanInput, enumInput, listInput, quote, secretInput, stringInput } from '../../shared/inputs.js';
import { DEFAULT_HISTORY_TABLES, parseHistoryTable, type HistoryTable } from '../../shared/migrations/history.js';
import { parseMigrateCommand } from '../../shared/migrations/tools/alembic-command.js';
import { MIGRATION_FORMATS } from '../../shared/migrations/types.js';
import { readLedgerPath } from '../../shared/ledger/inputs.js';
import { resolvePgTarget, type PgTarget } from '../../shared/postgres/connection.js';
import {
  isParsed,
  parseTag,
  patternProblem,
  TAG_ORDERS,
  tagScheme,
  type TagScheme,
} from '../../shared/releases/tag-scheme.js';
import {
  IMAGE_TAG_DESCRIPTION,
  IMAGE_TAG_PATTERN,
  SERVICE_NAME_DESCRIPTION,
  SERVICE_NAME_PATTERN,
} from '../../shared/tags.js';

export const DB_POLICIES = ['auto', 'image-only', 'down-migrations', 'restore-backup'] as const;
export type DbPolicy = (typeof DB_POLICIES)[number];

/** Formats this action plans: the SQL-file tools, and Alembic (a revision graph, planned by alembic-plan.ts). */
export const COMPUTE_FORMATS = [...MIGRATION_FORMATS, 'alembic'] as const;
export type ComputeFormat = (typeof COMPUTE_FORMATS)[number];

export type TargetRequest =
  { kind: 'tag'; tag: string } | { kind: 'previous' } | { kind: 'last-successful-deployment' };

export interface ComputeInputs {
  current?: { tag: string };
  target: TargetRequest;
  environment?: string;
  githubToken?: string;
  /** How release tags are recognised and ordered (tag-prefix, tag-pattern, tag-order). */
  tagScheme: TagScheme;
  /** Absolute. */
  repositoryPath: string;
  /** As given (relative to repository-path), '/'-separated, no trailing slash. */
  migrationsDir?: string;
  migrationsFormat: ComputeFormat;
  /** The database whose history the plan starts from; undefined: the plan is made from git only. */
  database?: PgTarget;
  historyTable: HistoryTable;
  /** Absolute. */
  compatibilityFile?: string;
  dbPolicy: DbPolicy;
  sameMajor: boolean;
  sameMinor: boolean;
  allowPrerelease: boolean;
  skipTags: string[];
  currentFromService?: string;
  /** A Docker Swarm service whose image tag is the current version. */
  currentFromSwarmService?: string;
  /** The swarm manager currentFromSwarmService is read on; the runner's engine when undefined. */
  ssh?: SshSettings;
  projectName?: string;
  /** The deployment ledger on this runner: current and last-successful-deployment without GitHub, and the latest backup. */
  ledger?: string;
  /** database-url as given: what the team's env.py gets as DATABASE_URL for Alembic's offline SQL. */
  databaseUrl?: string;
  /** migrations-format alembic: the team's alembic (migrate-command) and where it runs (working-directory, absolute). */
  alembic?: { command: string[]; workingDirectory: string };
  /** migrations-format sql-files: the runbook's version statements, for a database without the suite's history table yet. */
  sqlFiles?: SqlFilesInputs;
}

export interface SqlFilesInputs {
  /** current-version: the version the database is at, as the runbook says. */
  currentVersion?: string;
  /** compat-file, relative to repository-path: read from git at the target tag (and the current tag). */
  compatFile?: string;
}

/** Inputs only one format uses, with their unset values; set with another format they are a mistake. */
const FORMAT_ONLY: Record<string, { format: ComputeFormat; unset: string }> = {
  'migrate-command': { format: 'alembic', unset: 'alembic' },
  'working-directory': { format: 'alembic', unset: '.' },
  'current-version': { format: 'sql-files', unset: '' },
  'compat-file': { format: 'sql-files', unset: '' },
};

function checkFormatOnly(format: ComputeFormat): void {
  for (const [name, only] of Object.entries(FORMAT_ONLY))
    if (only.format !== format && (stringInput(name) ?? '') !== only.unset)
      throw new InputError(
        name,
        `is used only with migrations-format ${only.format} (this run's format is ${format}).`,
      );
}

const TAG_OPTIONS = { pattern: IMAGE_TAG_PATTERN, patternDescription: IMAGE_TAG_DESCRIPTION };

/** A tag input must be a release tag of the scheme; says what was wrong, and what was probably meant. */
function releaseTagInput(name: string, tag: string, scheme: TagScheme): { tag: string } {
  if (isParsed(parseTag(scheme, tag))) return { tag };
  if (scheme.pattern || scheme.order !== 'semver') {
    throw new InputError(
      name,
      `must be a release tag ${scheme.description} (tag-order ${quote(scheme.order)}); got ${quote(tag)}, which is not one.`,
    );
  }
  const { prefix } = scheme;
  const withPrefix = isParsed(parseTag(scheme, `${prefix}${tag}`));
  const hint = withPrefix
    ? `did you mean ${quote(`${prefix}${tag}`)}?`
    : `release tags look like ${prefix}1.2.3 (tag-prefix ${quote(prefix)} then a semantic version).`;
  throw new InputError(
    name,
    `must be a release tag: ${quote(prefix)} followed by a semantic version; got ${quote(tag)}, which is not one.`,
    { hint },
  );
}

/** tag-prefix, tag-pattern and tag-order, checked together: a pattern that does not compile or lacks the group its order needs names tag-pattern. */
function readTagScheme(): TagScheme {
  const tagPrefix = stringInput('tag-prefix', {
    default: 'v',
    pattern: /^[A-Za-z0-9_./-]{0,64}$/,
    patternDescription: 'a tag prefix such as "v" or "api-v"',
  });
  const order = enumInput('tag-order', TAG_ORDERS, { default: 'semver' });
  const patternText = stringInput('tag-pattern', {
    pattern: /^[^\r\n]{1,500}$/,
    patternDescription: 'one regular expression on one line',
  });
  if (patternText === undefined) return tagScheme(order, tagPrefix);
  let scheme: TagScheme;
  try {
    scheme = tagScheme(order, tagPrefix, patternText);
  } catch (error) {
    throw new InputError(
      'tag-pattern',
      `is not a regular expression: ${quote(patternText)} (${(error as Error).message}).`,
    );
  }
  const problem = patternProblem(order, scheme.pattern!);
  if (problem) throw new InputError('tag-pattern', `${quote(patternText)} ${problem}`);
  return scheme;
}

function relativeDir(name: string, text: string | undefined, noun = 'a directory'): string | undefined {
  if (text === undefined) return undefined;
  const normalized = path.posix.normalize(text.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (path.posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) {
    throw new InputError(
      name,
      `must be ${noun} inside the repository, relative to repository-path; got ${quote(text)}.`,
    );
  }
  return normalized === '' ? '.' : normalized;
}

/** same-major and same-minor compare semantic versions, which other tag orders do not have. */
function semverOnly(name: string, value: boolean, scheme: TagScheme): boolean {
  if (value && scheme.order !== 'semver')
    throw new InputError(
      name,
      `compares semantic versions, but tag-order is ${quote(scheme.order)}: set it only with tag-order "semver".`,
    );
  return value;
}

export function readComputeInputs(workingDirectory = process.cwd()): ComputeInputs {
  const scheme = readTagScheme();
  // The pattern rejects shell metacharacters, spaces and quotes before anything reads the value.
  const targetText = stringInput('target', {
    required: true,
    pattern: /^(previous|last-successful-deployment|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/,
    patternDescription: `"previous", "last-successful-deployment" or ${IMAGE_TAG_DESCRIPTION}`,
  });
  const target: TargetRequest =
    targetText === 'previous' || targetText === 'last-successful-deployment'
      ? { kind: targetText }
      : { kind: 'tag', ...releaseTagInput('target', targetText, scheme) };
  const currentText = stringInput('current', TAG_OPTIONS);
  const current = currentText === undefined ? undefined : releaseTagInput('current', currentText, scheme);

  const environment = stringInput('environment', {
    pattern: /^[^\r\n]{1,255}$/,
    patternDescription: 'a GitHub environment name',
  });
  const githubToken = secretInput('github-token');
  const repositoryPath = path.resolve(workingDirectory, stringInput('repository-path', { default: '.' }));
  // One deploy host over SSH: the swarm manager current-from-swarm-service is read on, and where the ledger is.
  const ssh = readSshInputs();
  const ledger = readLedgerPath(ssh !== undefined, workingDirectory);
  if (target.kind === 'last-successful-deployment' && !ledger && (!environment || !githubToken)) {
    throw new InputError(
      'target',
      `is "last-successful-deployment", which reads the Deployments API: set ${[!environment && '"environment"', !githubToken && '"github-token"'].filter(Boolean).join(' and ')} too (or "ledger" to read the deployment ledger).`,
    );
  }

  const migrationsDir = relativeDir('migrations-dir', stringInput('migrations-dir'));
  const compatibilityText = stringInput('compatibility-file');
  if (compatibilityText !== undefined && migrationsDir === undefined) {
    throw new InputError(
      'compatibility-file',
      'needs "migrations-dir": the matrix maps releases to migration versions, which are read from that directory.',
    );
  }
  if (compatibilityText !== undefined && scheme.order !== 'semver') {
    throw new InputError(
      'compatibility-file',
      `maps semver ranges to schemas, but tag-order is ${quote(scheme.order)}: use it with tag-order "semver".`,
    );
  }
  const migrationsFormat = enumInput('migrations-format', COMPUTE_FORMATS, { default: 'golang-migrate' });
  const databaseUrl = stringInput('database-url');
  if (databaseUrl !== undefined && migrationsDir === undefined) {
    throw new InputError(
      'database-url',
      'needs "migrations-dir": the database\'s history is matched against the migrations in that directory.',
    );
  }
  const historyTableText = stringInput('history-table');
  if (historyTableText !== undefined && databaseUrl === undefined) {
    throw new InputError('history-table', 'needs "database-url": it names the table read in that database.');
  }
  const currentFromService = stringInput('current-from-service', {
    pattern: SERVICE_NAME_PATTERN,
    patternDescription: SERVICE_NAME_DESCRIPTION,
  });
  const currentFromSwarmService = stringInput('current-from-swarm-service', {
    pattern: SERVICE_NAME_PATTERN,
    patternDescription: 'a swarm service name (letters, digits, ".", "_" and "-")',
  });
  if (currentFromService && currentFromSwarmService)
    throw new InputError(
      'current-from-swarm-service',
      'and "current-from-service" are both set: name the compose service or the swarm service that runs the current version, not both.',
    );
  if (ssh && !currentFromSwarmService && !ledger)
    throw new InputError(
      'ssh-host',
      'is set but neither "current-from-swarm-service" nor "ledger" is: ssh-host is the swarm manager that service is read on, or the deploy host that keeps the ledger.',
    );
  const projectName = stringInput('project-name', {
    pattern: /^[a-z0-9][a-z0-9_-]*$/,
    patternDescription: 'a compose project name (lowercase letters, digits, "_" and "-")',
  });

  checkFormatOnly(migrationsFormat);
  const alembic =
    migrationsFormat === 'alembic'
      ? {
          command: parseMigrateCommand(stringInput('migrate-command', { default: 'alembic' }) ?? 'alembic'),
          workingDirectory: path.resolve(workingDirectory, stringInput('working-directory', { default: '.' }) ?? '.'),
        }
      : undefined;
  const sqlFiles =
    migrationsFormat === 'sql-files'
      ? {
          currentVersion: stringInput('current-version', {
            pattern: /^[0-9]{1,18}$/,
            patternDescription: 'a schema number (digits)',
          }),
          compatFile: relativeDir('compat-file', stringInput('compat-file'), 'a file'),
        }
      : undefined;

  return {
    current,
    target,
    environment,
    githubToken,
    tagScheme: scheme,
    repositoryPath,
    migrationsDir,
    migrationsFormat,
    database: databaseUrl === undefined ? undefined : resolvePgTarget(databaseUrl),
    historyTable: parseHistoryTable(
      historyTableText ??
        (migrationsFormat === 'alembic' ? 'alembic_version' : DEFAULT_HISTORY_TABLES[migrationsFormat]),
    ),
    compatibilityFile: compatibilityText === undefined ? undefined : path.resolve(repositoryPath, compatibilityText),
    dbPolicy: enumInput('db-policy', DB_POLICIES, { default: 'auto' }),
    sameMajor: semverOnly('same-major', booleanInput('same-major', { default: false }), scheme),
    sameMinor: semverOnly('same-minor', booleanInput('same-minor', { default: false }), scheme),
    allowPrerelease: booleanInput('allow-prerelease', { default: false }),
    skipTags: listInput('skip-tags', { itemPattern: IMAGE_TAG_PATTERN, itemDescription: IMAGE_TAG_DESCRIPTION }),
    currentFromService,
    currentFromSwarmService,
    ssh,
    projectName,
    ledger,
    databaseUrl,
    alembic,
    sqlFiles,
  };
}

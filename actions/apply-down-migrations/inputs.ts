import { readFileSync } from 'node:fs';
import { readSshInputs, type SshSettings } from '../../shared/engine/host-inputs.js';
import {
  booleanInput,
  durationInput,
  enumInput,
  integerInput,
  jsonInput,
  listInput,
  stringInput,
} from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { DEFAULT_HISTORY_TABLES, parseHistoryTable, type HistoryTable } from '../../shared/migrations/history.js';
import { PLAN_DIGEST_PATTERN, type ApprovedEntry } from '../../shared/migrations/plan-digest.js';
import { migrationTool, type MigrationTool } from '../../shared/migrations/tools/index.js';
import { parseMigrateCommand } from '../../shared/migrations/tools/alembic-command.js';
import { parseCompatFile, schemaVersionFor } from '../../shared/migrations/tools/sql-files.js';
import { MIGRATION_FORMATS, type MigrationFormat } from '../../shared/migrations/types.js';
import { resolvePgTarget, type PgTarget } from '../../shared/postgres/connection.js';

export type DownTarget =
  | { kind: 'version'; version: string }
  | { kind: 'steps'; steps: number }
  | { kind: 'plan'; versions: string[]; entries: ApprovedEntry[] };

export interface ApplyDownInputs {
  target: PgTarget;
  migrationsDir: string;
  format: MigrationFormat;
  historyTable: HistoryTable;
  downTarget: DownTarget;
  dryRun: boolean;
  backupChecksum?: string;
  skipBackupCheck: boolean;
  allowEmptyDown: string[];
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  verify: boolean;
  pgBinDir?: string;
  /** The plan-digest output of compute-rollback-target: what was approved. */
  expectedPlanDigest?: string;
  /** sql-files: the version the database is at, by someone's word, for a history not started yet. */
  statedVersion?: { version: string; input: string };
}

/**
 * Accepts the `migrations` output of compute-rollback-target: an array of versions or of objects with
 * `version` (and, from compute-rollback-target, `name`, `downSha256` and `downTransactional`, which
 * say what changed when expected-plan-digest does not match).
 */
export function parsePlan(
  plan: unknown,
  tool: { format: string; versionInput: MigrationTool['versionInput'] },
): ApprovedEntry[] {
  if (!Array.isArray(plan))
    throw new InputError(
      'plan',
      'must be a JSON array of migrations (the "migrations" output of compute-rollback-target).',
    );
  return plan.map((entry, index) => {
    const record: Record<string, unknown> =
      typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : { version: entry };
    const version = record.version;
    if (
      (typeof version !== 'string' && typeof version !== 'number') ||
      !tool.versionInput.pattern.test(String(version))
    ) {
      throw new InputError(
        'plan',
        `entry ${index} has no "version" that is a ${tool.format} version (${tool.versionInput.description}).`,
      );
    }
    return {
      version: String(version),
      name: typeof record.name === 'string' ? record.name : undefined,
      downSha256: typeof record.downSha256 === 'string' || record.downSha256 === null ? record.downSha256 : undefined,
      transactional: typeof record.downTransactional === 'boolean' ? record.downTransactional : undefined,
    };
  });
}

function planTarget(entries: ApprovedEntry[]): DownTarget {
  return { kind: 'plan', versions: entries.map((entry) => entry.version), entries };
}

/** Formats this action reverts: the SQL-file tools, and Alembic (the team's own alembic downgrade). */
const FORMATS = [...MIGRATION_FORMATS, 'alembic'] as const;

/** migrations-format: alembic. The revert is the team's `alembic downgrade`, run by migrate-command. */
export interface AlembicDownInputs {
  format: 'alembic';
  target: PgTarget;
  /** database-url as given: what the team's env.py gets as DATABASE_URL. */
  databaseUrl?: string;
  /** The Alembic versions directory of the newer release, read on the runner. */
  migrationsDir: string;
  historyTable: HistoryTable;
  /** Revision ids; empty for base. Undefined with a plan. */
  targetRevisions?: string[];
  plan?: ApprovedEntry[];
  /** The command that is `alembic` for this app, as an argument array. */
  command: string[];
  workingDirectory: string;
  ssh?: SshSettings;
  dryRun: boolean;
  backupChecksum?: string;
  skipBackupCheck: boolean;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  expectedPlanDigest?: string;
}

const REVISION = /^[A-Za-z0-9_]+$/;

/** Inputs only Alembic uses; set with another format they are a mistake. */
const ALEMBIC_ONLY = {
  'migrate-command': 'alembic',
  'working-directory': '.',
  'ssh-host': '',
  'ssh-user': '',
  'ssh-key': '',
  'known-hosts': '',
} as const;
/** Inputs Alembic cannot honour: its own command decides what runs. */
const NOT_WITH_ALEMBIC = {
  steps: 'give target-version (a revision id) or plan',
  'allow-empty-down': "Alembic runs each revision's downgrade() as it is",
  verify: 'compare the schema with a fresh `alembic upgrade <revision>` yourself',
} as const;

function readBackupGate(): { backupChecksum?: string; skipBackupCheck: boolean } {
  const backupChecksum = stringInput('backup-checksum', {
    pattern: /^(sha256:)?[0-9a-fA-F]{64}$/,
    patternDescription: 'a SHA-256 in hex (the checksum output of backup-db)',
  });
  return { backupChecksum, skipBackupCheck: booleanInput('skip-backup-check', { default: false }) };
}

/** Checked once every input has been read, so that a malformed input is named before a missing proof. */
function requireBackupProof(inputs: { dryRun: boolean; backupChecksum?: string; skipBackupCheck: boolean }): void {
  // Reverting drops columns and tables with their data: no real run without proof that a copy exists.
  if (!inputs.dryRun && !inputs.backupChecksum && !inputs.skipBackupCheck) {
    throw new InputError(
      'backup-checksum',
      'is required to revert migrations: down migrations drop columns and tables, and the data in them is gone unless a backup exists. Nothing was changed.',
      {
        hint: 'Run rollback-actions/backup-db first and pass its checksum output (backup-checksum: ${{ steps.backup.outputs.checksum }}), or set skip-backup-check: true to go on without a backup. dry-run: true needs neither.',
      },
    );
  }
}

function readAlembicInputs(target: PgTarget, migrationsDir: string): AlembicDownInputs {
  for (const [name, instead] of Object.entries(NOT_WITH_ALEMBIC)) {
    if (stringInput(name) && !(name === 'verify' && stringInput(name) === 'false'))
      throw new InputError(name, `is not used with migrations-format alembic: ${instead}.`);
  }
  const historyTable = parseHistoryTable(stringInput('history-table', { default: 'alembic_version' }));
  const revisionList = stringInput('target-version');
  const planValue = jsonInput('plan');
  if (revisionList === undefined && planValue === undefined)
    throw new InputError(
      'target-version',
      'or "plan" is required: the Alembic revision to downgrade to (several heads comma-separated, "base" for none).',
    );
  if (revisionList !== undefined && planValue !== undefined)
    throw new InputError('plan', 'cannot be combined with "target-version": give exactly one of them.');
  let targetRevisions: string[] | undefined;
  if (revisionList !== undefined) {
    targetRevisions = revisionList.split(/[\s,]+/).filter(Boolean);
    if (targetRevisions.some((id) => !REVISION.test(id)))
      throw new InputError(
        'target-version',
        `must be an Alembic revision id (letters, digits, _), several heads comma-separated, or "base": got ${JSON.stringify(revisionList)}.`,
      );
    if (targetRevisions.length === 1 && (targetRevisions[0] === 'base' || targetRevisions[0] === '0'))
      targetRevisions = [];
  }
  const dryRun = booleanInput('dry-run', { default: false });
  return {
    format: 'alembic',
    target,
    databaseUrl: stringInput('database-url'),
    migrationsDir,
    historyTable,
    targetRevisions,
    plan:
      planValue === undefined
        ? undefined
        : parsePlan(planValue, {
            format: 'alembic',
            versionInput: { pattern: REVISION, description: 'an Alembic revision id' },
          }),
    command: parseMigrateCommand(stringInput('migrate-command', { default: 'alembic' }) ?? 'alembic'),
    workingDirectory: stringInput('working-directory', { default: '.' }) ?? '.',
    ssh: readSshInputs(),
    dryRun,
    ...readBackupGate(),
    lockTimeoutMs: durationInput('lock-timeout', { default: 30_000, min: 0 }),
    statementTimeoutMs: durationInput('statement-timeout', { default: 300_000, min: 0 }),
    expectedPlanDigest: stringInput('expected-plan-digest', {
      pattern: PLAN_DIGEST_PATTERN,
      patternDescription:
        'a plan digest (the plan-digest output of compute-rollback-target: "sha256:" and 64 hex digits)',
    }),
  };
}

export function readApplyDownInputs(): ApplyDownInputs | AlembicDownInputs {
  const inputs = readInputsOfFormat();
  requireBackupProof(inputs);
  return inputs;
}

function readInputsOfFormat(): ApplyDownInputs | AlembicDownInputs {
  const target = resolvePgTarget(stringInput('database-url'));
  const migrationsDir = stringInput('migrations-dir', { required: true });
  const chosen = enumInput('migrations-format', FORMATS, { default: 'golang-migrate' });
  if (chosen === 'alembic') return readAlembicInputs(target, migrationsDir);
  const format: MigrationFormat = chosen;
  for (const [name, unset] of Object.entries(ALEMBIC_ONLY))
    if ((stringInput(name) ?? '') !== unset)
      throw new InputError(name, `is used only with migrations-format alembic (this run's format is ${format}).`);
  const historyTable = parseHistoryTable(stringInput('history-table', { default: DEFAULT_HISTORY_TABLES[format] }));

  const tool = migrationTool(format);
  const versions = tool.versionInput;
  const stated = readStatedVersions(format, versions);
  const givenVersion = stringInput('target-version', {
    pattern: versions.pattern,
    patternDescription: `a ${format} version (${versions.description}; "0" for none)`,
  });
  if (givenVersion !== undefined && stated.target !== undefined)
    throw new InputError('target-app-version', 'cannot be combined with "target-version": give one of them.');
  const targetVersion = givenVersion ?? stated.target;
  const steps = integerInput('steps', { min: 1, max: 100_000 });
  const planValue = jsonInput('plan');
  const given = [
    targetVersion !== undefined && 'target-version',
    steps !== undefined && 'steps',
    planValue !== undefined && 'plan',
  ].filter(Boolean);
  if (given.length === 0)
    throw new InputError('target-version', 'or "steps" or "plan" is required: say how far to migrate down.');
  if (given.length > 1)
    throw new InputError(
      String(given[1]),
      `cannot be combined with "${given[0]}": give exactly one of target-version, steps or plan.`,
    );
  const downTarget: DownTarget =
    targetVersion !== undefined
      ? { kind: 'version', version: targetVersion }
      : steps !== undefined
        ? { kind: 'steps', steps }
        : planTarget(parsePlan(planValue, tool));

  const dryRun = booleanInput('dry-run', { default: false });
  const { backupChecksum, skipBackupCheck } = readBackupGate();
  const inputs: ApplyDownInputs = {
    target,
    migrationsDir,
    format,
    historyTable,
    downTarget,
    dryRun,
    backupChecksum,
    skipBackupCheck,
    allowEmptyDown: listInput('allow-empty-down', {
      itemPattern: versions.pattern,
      itemDescription: `${format} versions (${versions.description})`,
    }),
    lockTimeoutMs: durationInput('lock-timeout', { default: 30_000, min: 0 }),
    statementTimeoutMs: durationInput('statement-timeout', { default: 300_000, min: 0 }),
    verify: booleanInput('verify', { default: false }),
    pgBinDir: stringInput('pg-bin-dir'),
    expectedPlanDigest: stringInput('expected-plan-digest', {
      pattern: PLAN_DIGEST_PATTERN,
      patternDescription:
        'a plan digest (the plan-digest output of compute-rollback-target: "sha256:" and 64 hex digits)',
    }),
    statedVersion: stated.current,
  };
  return inputs;
}

/**
 * sql-files' versions by someone's word: current-version, or the schema numbers a runbook's
 * compatibility matrix (compat-file) gives app-version and target-app-version.
 */
function readStatedVersions(
  format: MigrationFormat,
  versions: MigrationTool['versionInput'],
): { current?: { version: string; input: string }; target?: string } {
  const names = ['current-version', 'compat-file', 'app-version', 'target-app-version'] as const;
  if (!migrationTool(format).statedHistory) {
    for (const name of names)
      if (stringInput(name) !== undefined)
        throw new InputError(name, `is used only with migrations-format sql-files (this run's format is ${format}).`);
    return {};
  }
  const currentVersion = stringInput('current-version', {
    pattern: versions.pattern,
    patternDescription: `a ${format} version (${versions.description}; "0" for none)`,
  });
  const compatFile = stringInput('compat-file');
  const appVersion = stringInput('app-version');
  const targetAppVersion = stringInput('target-app-version');
  if (currentVersion !== undefined && appVersion !== undefined)
    throw new InputError('app-version', 'cannot be combined with "current-version": give one of them.');
  if (compatFile === undefined) {
    const needing =
      appVersion !== undefined ? 'app-version' : targetAppVersion !== undefined ? 'target-app-version' : undefined;
    if (needing)
      throw new InputError(needing, 'needs compat-file, the matrix that maps app versions to schema numbers.');
    return {
      current: currentVersion === undefined ? undefined : { version: currentVersion, input: 'current-version' },
    };
  }
  let text: string;
  try {
    text = readFileSync(compatFile, 'utf8');
  } catch (error) {
    throw new InputError('compat-file', `cannot be read: ${(error as Error).message}`);
  }
  const matrix = parseCompatFile(text, 'compat-file', compatFile);
  const current =
    appVersion !== undefined
      ? {
          version: schemaVersionFor(matrix, appVersion, 'app-version', compatFile),
          input: `app-version ${appVersion} in ${compatFile}`,
        }
      : currentVersion === undefined
        ? undefined
        : { version: currentVersion, input: 'current-version' };
  return {
    current,
    target:
      targetAppVersion === undefined
        ? undefined
        : schemaVersionFor(matrix, targetAppVersion, 'target-app-version', compatFile),
  };
}

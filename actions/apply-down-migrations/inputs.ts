import { booleanInput, durationInput, enumInput, integerInput, jsonInput, listInput, stringInput } from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { DEFAULT_HISTORY_TABLES, parseHistoryTable, type HistoryTable } from '../../shared/migrations/history.js';
import { PLAN_DIGEST_PATTERN, type ApprovedEntry } from '../../shared/migrations/plan-digest.js';
import { migrationTool, type MigrationTool } from '../../shared/migrations/tools/index.js';
import { MIGRATION_FORMATS, type MigrationFormat } from '../../shared/migrations/types.js';
import { resolvePgTarget, type PgTarget } from '../../shared/postgres/connection.js';

export type DownTarget = { kind: 'version'; version: string } | { kind: 'steps'; steps: number } | { kind: 'plan'; versions: string[]; entries: ApprovedEntry[] };

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
}

/**
 * Accepts the `migrations` output of compute-rollback-target: an array of versions or of objects with
 * `version` (and, from compute-rollback-target, `name`, `downSha256` and `downTransactional`, which
 * say what changed when expected-plan-digest does not match).
 */
export function parsePlan(plan: unknown, tool: MigrationTool): ApprovedEntry[] {
  if (!Array.isArray(plan)) throw new InputError('plan', 'must be a JSON array of migrations (the "migrations" output of compute-rollback-target).');
  return plan.map((entry, index) => {
    const record: Record<string, unknown> = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : { version: entry };
    const version = record.version;
    if ((typeof version !== 'string' && typeof version !== 'number') || !tool.versionInput.pattern.test(String(version))) {
      throw new InputError('plan', `entry ${index} has no "version" that is a ${tool.format} version (${tool.versionInput.description}).`);
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

export function readApplyDownInputs(): ApplyDownInputs {
  const target = resolvePgTarget(stringInput('database-url'));
  const migrationsDir = stringInput('migrations-dir', { required: true });
  const format = enumInput('migrations-format', MIGRATION_FORMATS, { default: 'golang-migrate' });
  const historyTable = parseHistoryTable(stringInput('history-table', { default: DEFAULT_HISTORY_TABLES[format] }));

  const tool = migrationTool(format);
  const versions = tool.versionInput;
  const targetVersion = stringInput('target-version', { pattern: versions.pattern, patternDescription: `a ${format} version (${versions.description}; "0" for none)` });
  const steps = integerInput('steps', { min: 1, max: 100_000 });
  const planValue = jsonInput('plan');
  const given = [targetVersion !== undefined && 'target-version', steps !== undefined && 'steps', planValue !== undefined && 'plan'].filter(Boolean);
  if (given.length === 0) throw new InputError('target-version', 'or "steps" or "plan" is required: say how far to migrate down.');
  if (given.length > 1) throw new InputError(String(given[1]), `cannot be combined with "${given[0]}": give exactly one of target-version, steps or plan.`);
  const downTarget: DownTarget =
    targetVersion !== undefined
      ? { kind: 'version', version: targetVersion }
      : steps !== undefined
        ? { kind: 'steps', steps }
        : planTarget(parsePlan(planValue, tool));

  const backupChecksum = stringInput('backup-checksum', { pattern: /^(sha256:)?[0-9a-fA-F]{64}$/, patternDescription: 'a SHA-256 in hex (the checksum output of backup-db)' });
  const skipBackupCheck = booleanInput('skip-backup-check', { default: false });
  const dryRun = booleanInput('dry-run', { default: false });
  const inputs: ApplyDownInputs = {
    target,
    migrationsDir,
    format,
    historyTable,
    downTarget,
    dryRun,
    backupChecksum,
    skipBackupCheck,
    allowEmptyDown: listInput('allow-empty-down', { itemPattern: versions.pattern, itemDescription: `${format} versions (${versions.description})` }),
    lockTimeoutMs: durationInput('lock-timeout', { default: 30_000, min: 0 }),
    statementTimeoutMs: durationInput('statement-timeout', { default: 300_000, min: 0 }),
    verify: booleanInput('verify', { default: false }),
    pgBinDir: stringInput('pg-bin-dir'),
    expectedPlanDigest: stringInput('expected-plan-digest', { pattern: PLAN_DIGEST_PATTERN, patternDescription: 'a plan digest (the plan-digest output of compute-rollback-target: "sha256:" and 64 hex digits)' }),
  };
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
  return inputs;
}

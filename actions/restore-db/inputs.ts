import { booleanInput, durationInput, enumInput, secretInput, stringInput } from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { resolvePgTarget, type PgTarget } from '../../shared/postgres/connection.js';
import { readEncryptionSecret, type EncryptionSecret } from '../../shared/backup/encryption.js';
import { readTablesInputs, type TablesInputs } from './tables.js';
import { METHODS, rejectInputsOfOtherMethod, type BackupMethod } from '../../shared/backup/method.js';
import { ARTIFACT_NAME_PATTERN, LABEL_DESCRIPTION, LABEL_PATTERN } from '../../shared/backup/names.js';
import { LOCAL_BACKUP_DIR_ENV, localBackupDir } from '../../shared/backup/local-dir.js';
import { readLedgerOnHost } from '../../shared/ledger/inputs.js';
import type { LedgerLocation } from '../../shared/ledger/on-host.js';
import { PLAN_DIGEST_PATTERN } from '../../shared/migrations/plan-digest.js';

export const RESTORE_MODES = ['new-database', 'replace'] as const;
/** Inputs only method "pgbackrest" reads (those without defaults). */
const PGBACKREST_ONLY_INPUTS = [
  'pgbackrest-stanza',
  'pgbackrest-config',
  'pgbackrest-via',
  'restore-point',
  'restore-point-lsn',
  'target-time',
  'side-data-dir',
  'side-port',
  'stop-command',
  'start-command',
  'data-directory',
  'server-bin-dir',
  'remove-side-cluster',
  'row-count-max-size',
] as const;

export type BackupSource =
  | { kind: 'path'; path: string }
  | { kind: 'artifact'; name: string; runId?: number; token?: string }
  | { kind: 'latest-artifact'; label: string; token?: string; runId?: number };

export interface RestoreInputs {
  target: PgTarget;
  source: BackupSource;
  targetDatabase?: string;
  mode: (typeof RESTORE_MODES)[number];
  encryptionKey?: EncryptionSecret;
  expectedChecksum?: string;
  safetyBackup: boolean;
  terminateConnections: boolean;
  lockTimeoutMs: number;
  swap: boolean;
  noOwner: boolean;
  pgBinDir?: string;
  /** The plan-digest output of compute-rollback-target when the plan says restore-backup. */
  expectedPlanDigest?: string;
  /** Partial restore: only these tables, into the database in database-url. */
  tables: TablesInputs;
  /** The deployment ledger (on this runner, or on the deploy host over SSH; the restore itself runs on this runner): names the latest backup of a label in a local backup dir. */
  ledger?: LedgerLocation;
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

export function readRestoreMethod(): BackupMethod {
  return enumInput('method', METHODS, { default: 'dump' });
}

export async function readRestoreInputs(): Promise<RestoreInputs> {
  rejectInputsOfOtherMethod('dump', PGBACKREST_ONLY_INPUTS);
  const target = resolvePgTarget(stringInput('database-url'));
  const path = stringInput('path');
  const artifactName = stringInput('artifact-name', {
    pattern: ARTIFACT_NAME_PATTERN,
    patternDescription: 'an artifact name (or "latest")',
  });
  const label = stringInput('label', { pattern: LABEL_PATTERN, patternDescription: LABEL_DESCRIPTION });
  const runIdText = stringInput('run-id', { pattern: /^\d+$/, patternDescription: 'a workflow run ID (digits)' });
  const token = secretInput('github-token');
  const runId = runIdText === undefined ? undefined : Number(runIdText);

  let source: BackupSource;
  if (path) {
    if (artifactName)
      throw new InputError(
        'path',
        'and "artifact-name" were both given; say which backup to restore with one of them.',
      );
    source = { kind: 'path', path };
  } else if (artifactName === 'latest') {
    if (!label) throw new InputError('label', 'is required with artifact-name "latest" (which backups to pick from).');
    if (!token && !localBackupDir())
      throw new InputError(
        'github-token',
        `is required with artifact-name "latest" (the latest backup is found through the Actions API), unless ${LOCAL_BACKUP_DIR_ENV} names a local backup dir.`,
      );
    source = { kind: 'latest-artifact', label, token, runId };
  } else if (artifactName) {
    if (runId !== undefined && !token)
      throw new InputError(
        'github-token',
        'is required with run-id (artifacts of other runs are read through the Actions API).',
      );
    source = { kind: 'artifact', name: artifactName, runId, token };
  } else {
    throw new InputError('path', 'or "artifact-name" is required: say which backup to restore.');
  }

  const mode = enumInput('mode', RESTORE_MODES, { default: 'new-database' });
  const targetDatabase = stringInput('target-database', {
    pattern: DATABASE_NAME,
    patternDescription: 'a database name (letters, digits, "_", "$" or "-", at most 63)',
  });
  if (targetDatabase && mode === 'replace')
    throw new InputError(
      'target-database',
      'cannot be used with mode "replace", which restores over the database in database-url.',
    );
  const swap = booleanInput('swap', { default: false });
  const tables = readTablesInputs();
  if (tables.tables.length > 0) {
    for (const [name, given] of [
      ['target-database', targetDatabase !== undefined],
      ['swap', swap],
      ['mode', mode === 'replace'],
    ] as const) {
      if (given)
        throw new InputError(
          name,
          'does not apply with tables: the named tables are restored into the database in database-url, nothing else is touched.',
        );
    }
  }
  if (swap && mode === 'replace')
    throw new InputError(
      'swap',
      'only applies to mode "new-database" (restore beside, then swap names); mode "replace" already restores in place.',
    );
  const terminateConnections = booleanInput('terminate-connections', { default: false });
  if (terminateConnections && mode !== 'replace')
    throw new InputError(
      'terminate-connections',
      'only applies to mode "replace": a restore into a new database disconnects no one.',
    );
  return {
    target,
    source,
    targetDatabase,
    mode,
    encryptionKey: await readEncryptionSecret(secretInput('encryption-key'), 'decrypt'),
    expectedChecksum: stringInput('expected-checksum', {
      pattern: /^(sha256:)?[0-9a-fA-F]{64}$/,
      patternDescription: 'a SHA-256 in hex (64 characters)',
    })
      ?.replace(/^sha256:/, '')
      .toLowerCase(),
    safetyBackup: booleanInput('safety-backup', { default: true }),
    terminateConnections,
    lockTimeoutMs: durationInput('lock-timeout', { default: 30_000, min: 0 }),
    swap,
    noOwner: booleanInput('no-owner', { default: false }),
    pgBinDir: stringInput('pg-bin-dir'),
    expectedPlanDigest: stringInput('expected-plan-digest', {
      pattern: PLAN_DIGEST_PATTERN,
      patternDescription:
        'a plan digest (the plan-digest output of compute-rollback-target: "sha256:" and 64 hex digits)',
    }),
    tables,
    ledger: readLedgerOnHost('the restore runs'),
  };
}

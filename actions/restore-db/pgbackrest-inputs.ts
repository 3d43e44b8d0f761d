import type { PgBackRestSettings } from '../../shared/backup/pgbackrest/host.js';
import { rejectInputsOfOtherMethod } from '../../shared/backup/method.js';
import { readPgBackRestSettings } from '../../shared/backup/pgbackrest/inputs.js';
import type { BackupSetChoice, RecoveryTarget } from '../../shared/backup/pgbackrest/recovery.js';
import { RESTORE_POINT_DESCRIPTION, RESTORE_POINT_NAME } from '../../shared/backup/pgbackrest/restore-point.js';
import { parseLsn } from '../../shared/backup/pgbackrest/wal.js';
import { sizeOrNone } from '../../shared/backup/size-gate.js';
import { InputError } from '../../shared/errors.js';
import { booleanInput, durationInput, enumInput, integerInput, jsonInput, stringInput } from '../../shared/inputs.js';
import { resolvePgTarget, type PgTarget } from '../../shared/postgres/connection.js';
import { RESTORE_MODES } from './inputs.js';
import { readTablesInputs, type TablesInputs } from './tables.js';

/**
 * restore-db's inputs for method "pgbackrest": what to recover to (a restore point, a time, or the
 * end of a backup), from which backup set, and where (a side cluster, or in place with the server
 * stopped and started by the given commands).
 */
export const SIDE_CLUSTER_ENDINGS = ['keep', 'stop', 'remove'] as const;
/** Inputs only the dump method reads (those without defaults, so that setting them can be noticed). */
const DUMP_ONLY_INPUTS = [
  'path',
  'artifact-name',
  'label',
  'run-id',
  'target-database',
  'encryption-key',
  'expected-checksum',
  'ledger',
] as const;
/** As backup-db's row-count-max-size: a table up to this size is counted in a second or two. */
const DEFAULT_ROW_COUNT_MAX_SIZE = '256MiB';
const BACKUP_LABEL = /^\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?$/;
const ABSOLUTE_PATH = /^\/[^\0]*$/;

export interface PgBackRestRestoreInputs {
  target: PgTarget;
  settings: PgBackRestSettings;
  recovery: RecoveryTarget;
  backupSet: BackupSetChoice;
  mode: (typeof RESTORE_MODES)[number];
  sideDataDirectory?: string;
  sidePort?: number;
  sideCluster: (typeof SIDE_CLUSTER_ENDINGS)[number];
  stopCommand?: string[];
  startCommand?: string[];
  dataDirectory?: string;
  safetyBackup: boolean;
  recoveryTimeoutMs: number;
  /** Cleanup only: stop and delete this side cluster, then end. */
  removeSideCluster?: string;
  /** Partial restore: copy only these tables from the recovered side cluster into the live database. */
  tables: TablesInputs;
  noOwner: boolean;
  pgBinDir?: string;
  /** Tables with more data than this get an estimated row count, labelled so, instead of an exact one. */
  rowCountMaxBytes: number;
}

/** A command as one argument per line, or a JSON array. */
function commandInput(name: 'stop-command' | 'start-command', text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  if (text.startsWith('[')) {
    const parsed = jsonInput(name);
    if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((part) => typeof part !== 'string'))
      throw new InputError(name, 'given as JSON must be a non-empty array of strings.');
    return parsed as string[];
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

function readTarget(): RecoveryTarget {
  const name = stringInput('restore-point', {
    pattern: RESTORE_POINT_NAME,
    patternDescription: RESTORE_POINT_DESCRIPTION,
  });
  const lsnText = stringInput('restore-point-lsn', {
    pattern: /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/,
    patternDescription: "an LSN such as 0/16B3748 (backup-db's restore-point-lsn output)",
  });
  const timeText = stringInput('target-time', {
    pattern: /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/,
    patternDescription: 'an ISO 8601 time with its zone, e.g. 2026-05-04T03:02:01Z',
  });
  if (name && timeText)
    throw new InputError(
      'target-time',
      'and "restore-point" were both given; recover either to a restore point or to a time.',
    );
  if (lsnText && !name)
    throw new InputError('restore-point-lsn', 'only narrows the search for restore-point; give restore-point too.');
  if (name) return { kind: 'name', name, lsnHint: lsnText ? parseLsn(lsnText) : undefined };
  if (timeText) {
    const time = new Date(timeText.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
    if (Number.isNaN(time.getTime()))
      throw new InputError('target-time', `is not a valid time: ${JSON.stringify(timeText)}.`);
    return { kind: 'time', time };
  }
  return { kind: 'immediate' };
}

function readBackupSet(): BackupSetChoice {
  const text = stringInput('backup-set', { default: 'latest' });
  const windowMs = durationInput('random-window', { default: 7 * 86_400_000, min: 60_000 });
  if (text === 'latest') return { kind: 'latest' };
  if (text === 'random') return { kind: 'random', windowMs };
  if (!BACKUP_LABEL.test(text))
    throw new InputError(
      'backup-set',
      `must be "latest", "random" or a pgBackRest backup label such as 20260504-030201F; got ${JSON.stringify(text)}.`,
    );
  return { kind: 'label', label: text };
}

export function readPgBackRestRestoreInputs(): PgBackRestRestoreInputs {
  rejectInputsOfOtherMethod('pgbackrest', DUMP_ONLY_INPUTS);
  const target = resolvePgTarget(stringInput('database-url'));
  const mode = enumInput('mode', RESTORE_MODES, { default: 'new-database' });
  const replace = mode === 'replace';
  const removeSideCluster = stringInput('remove-side-cluster', {
    pattern: ABSOLUTE_PATH,
    patternDescription: 'an absolute path (the side-data-dir output of an earlier restore)',
  });
  const inputs: PgBackRestRestoreInputs = {
    target,
    settings: readPgBackRestSettings({
      serverBinDir: stringInput('server-bin-dir', {
        pattern: ABSOLUTE_PATH,
        patternDescription: 'an absolute directory path',
      }),
    }),
    recovery: readTarget(),
    backupSet: readBackupSet(),
    mode,
    sideDataDirectory: stringInput('side-data-dir', {
      pattern: ABSOLUTE_PATH,
      patternDescription: 'an absolute directory path on the host pgBackRest runs on',
    }),
    sidePort: integerInput('side-port', { min: 1, max: 65535 }),
    sideCluster: enumInput('side-cluster', SIDE_CLUSTER_ENDINGS, { default: 'keep' }),
    stopCommand: commandInput('stop-command', stringInput('stop-command')),
    startCommand: commandInput('start-command', stringInput('start-command')),
    dataDirectory: stringInput('data-directory', {
      pattern: ABSOLUTE_PATH,
      patternDescription: "an absolute directory path (the server's data_directory)",
    }),
    safetyBackup: booleanInput('safety-backup', { default: true }),
    recoveryTimeoutMs: durationInput('recovery-timeout', { default: 30 * 60_000, min: 5000 }),
    removeSideCluster,
    tables: readTablesInputs(),
    noOwner: booleanInput('no-owner', { default: false }),
    pgBinDir: stringInput('pg-bin-dir'),
    rowCountMaxBytes:
      sizeOrNone('row-count-max-size', stringInput('row-count-max-size', { default: DEFAULT_ROW_COUNT_MAX_SIZE })) ??
      Infinity,
  };
  if (replace && inputs.tables.tables.length > 0)
    throw new InputError(
      'tables',
      'only applies to mode "new-database": the tables are copied from the recovered side cluster into the live database, which stays running.',
    );
  if (replace) {
    for (const [name, value] of [
      ['side-data-dir', inputs.sideDataDirectory],
      ['side-port', inputs.sidePort],
    ] as const) {
      if (value !== undefined)
        throw new InputError(
          name,
          'only applies to mode "new-database" (a side cluster); mode "replace" restores the cluster in place.',
        );
    }
    if (!inputs.startCommand)
      throw new InputError(
        'start-command',
        'is required with mode "replace": the command that starts the server again after the restore (e.g. systemctl start postgresql@16-main, or docker compose start db).',
      );
  } else {
    for (const [name, value] of [
      ['stop-command', inputs.stopCommand],
      ['start-command', inputs.startCommand],
    ] as const) {
      if (value)
        throw new InputError(
          name,
          'only applies to mode "replace"; mode "new-database" restores into a side cluster and leaves the live server alone.',
        );
    }
  }
  return inputs;
}

import { booleanInput, enumInput, integerInput, listInput, secretInput, stringInput } from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { resolvePgTarget } from '../../shared/postgres/connection.js';
import { parseCompression } from '../../shared/backup/compression.js';
import { readEncryptionSecret } from '../../shared/backup/encryption.js';
import type { BackupRequest } from '../../shared/backup/backup.js';
import { BACKUP_FORMATS } from '../../shared/backup/metadata.js';
import { readLedgerOnHost } from '../../shared/ledger/inputs.js';
import type { LedgerLocation } from '../../shared/ledger/on-host.js';
import { METHODS, rejectInputsOfOtherMethod, type BackupMethod } from '../../shared/backup/method.js';
import { sizeOrNone, type SizeGate } from '../../shared/backup/size-gate.js';
import { ARTIFACT_NAME_PATTERN, LABEL_DESCRIPTION, LABEL_PATTERN } from '../../shared/backup/names.js';

const VERIFY_MODES = ['archive', 'full', 'restore'] as const;
/** Inputs only method "pgbackrest" reads (those without defaults). */
const PGBACKREST_ONLY_INPUTS = ['pgbackrest-stanza', 'pgbackrest-config', 'pgbackrest-via', 'restore-point'] as const;

/** What the user asked for: the dump settings a BackupRequest takes, plus where the backup goes. */
export interface BackupInputs extends Pick<
  BackupRequest,
  | 'target'
  | 'format'
  | 'jobs'
  | 'compression'
  | 'schemaOnly'
  | 'tables'
  | 'excludeTables'
  | 'label'
  | 'appVersion'
  | 'encryptionKey'
  | 'verify'
  | 'pgBinDir'
  | 'sizeGate'
  | 'rowCountMaxBytes'
> {
  upload: boolean;
  artifactName?: string;
  retentionDays: number;
  outputDir?: string;
  /** The deployment ledger to append the backup to: on this runner, or on the deploy host over SSH (the dump itself runs on this runner). */
  ledger?: LedgerLocation;
}

function readSizeGate(): SizeGate | undefined {
  const artifactLimitBytes = sizeOrNone('artifact-size-limit', stringInput('artifact-size-limit', { default: '50GB' }));
  return booleanInput('size-gate', { default: true }) ? { artifactLimitBytes } : undefined;
}

export function readBackupMethod(): BackupMethod {
  return enumInput('method', METHODS, { default: 'dump' });
}

export async function readBackupInputs(): Promise<BackupInputs> {
  rejectInputsOfOtherMethod('dump', PGBACKREST_ONLY_INPUTS);
  const target = resolvePgTarget(stringInput('database-url'));
  const format = enumInput('format', BACKUP_FORMATS, { default: 'custom' });
  const jobs = integerInput('jobs', { default: 1, min: 1, max: 32 });
  if (jobs > 1 && format !== 'directory')
    throw new InputError('jobs', `can only be above 1 with format "directory"; got ${jobs} with format "${format}".`);
  const encryptionKey = (await readEncryptionSecret(secretInput('encryption-key'), 'encrypt'))?.key;
  if (encryptionKey?.kind === 'passphrase' && format === 'directory') {
    throw new InputError(
      'encryption-key',
      'is a passphrase, and format is "directory": every file of a directory backup is its own age file, and `age -d` would ask for the passphrase once per file. Use an age identity (age-keygen) for directory backups, or format "custom".',
    );
  }
  return {
    target,
    format,
    jobs,
    compression: parseCompression(stringInput('compression', { default: 'gzip:6' })),
    schemaOnly: booleanInput('schema-only', { default: false }),
    tables: listInput('tables'),
    excludeTables: listInput('exclude-tables'),
    label: stringInput('label', { default: 'default', pattern: LABEL_PATTERN, patternDescription: LABEL_DESCRIPTION }),
    appVersion: stringInput('app-version'),
    upload: booleanInput('upload', { default: true }),
    artifactName: stringInput('artifact-name', {
      pattern: ARTIFACT_NAME_PATTERN,
      patternDescription: 'an artifact name without " < > : | * ? \\ / or newlines',
    }),
    retentionDays: integerInput('retention-days', { default: 7, min: 1, max: 90 }),
    encryptionKey,
    verify: enumInput('verify', VERIFY_MODES, { default: 'archive' }),
    pgBinDir: stringInput('pg-bin-dir'),
    outputDir: stringInput('output-dir'),
    ledger: readLedgerOnHost('the dump runs'),
    sizeGate: readSizeGate(),
    rowCountMaxBytes:
      sizeOrNone('row-count-max-size', stringInput('row-count-max-size', { default: '256MiB' })) ?? Infinity,
  };
}

import { booleanInput, enumInput, integerInput, listInput, secretInput, stringInput } from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { resolvePgTarget, type PgTarget } from '../../shared/postgres/connection.js';

export const BACKUP_FORMATS = ['custom', 'directory', 'plain'] as const;
export type BackupFormat = (typeof BACKUP_FORMATS)[number];
export const VERIFY_MODES = ['archive', 'restore'] as const;

export interface Compression {
  method: 'none' | 'gzip' | 'zstd';
  level?: number;
}

export interface BackupInputs {
  target: PgTarget;
  format: BackupFormat;
  jobs: number;
  compression: Compression;
  schemaOnly: boolean;
  tables: string[];
  excludeTables: string[];
  label: string;
  appVersion?: string;
  upload: boolean;
  artifactName?: string;
  retentionDays: number;
  encryptionKey?: string;
  verify: (typeof VERIFY_MODES)[number];
  pgBinDir?: string;
  outputDir?: string;
}

export function parseCompression(text: string): Compression {
  const match = /^(none|gzip|zstd)(?::(\d+))?$/.exec(text);
  if (!match) throw new InputError('compression', `must be "none", "gzip", "gzip:<0-9>", "zstd" or "zstd:<1-19>"; got "${text}".`);
  const method = match[1] as Compression['method'];
  const level = match[2] === undefined ? undefined : Number(match[2]);
  if (method === 'none' && level !== undefined) throw new InputError('compression', `"none" takes no level; got "${text}".`);
  if (method === 'gzip' && level !== undefined && level > 9) throw new InputError('compression', `gzip levels are 0 to 9; got "${text}".`);
  if (method === 'zstd' && level !== undefined && (level < 1 || level > 19)) throw new InputError('compression', `zstd levels are 1 to 19; got "${text}".`);
  return { method, level };
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// Artifact names may not contain these (actions/toolkit artifact name validation).
const ARTIFACT_NAME = /^[^"<>:|*?\r\n\\/]{1,200}$/;

export function readBackupInputs(): BackupInputs {
  const target = resolvePgTarget(stringInput('database-url'));
  const format = enumInput('format', BACKUP_FORMATS, { default: 'custom' });
  const jobs = integerInput('jobs', { default: 1, min: 1, max: 32 });
  if (jobs > 1 && format !== 'directory') throw new InputError('jobs', `can only be above 1 with format "directory"; got ${jobs} with format "${format}".`);
  return {
    target,
    format,
    jobs,
    compression: parseCompression(stringInput('compression', { default: 'gzip:6' })),
    schemaOnly: booleanInput('schema-only', { default: false }),
    tables: listInput('tables'),
    excludeTables: listInput('exclude-tables'),
    label: stringInput('label', { default: 'default', pattern: LABEL, patternDescription: 'letters, digits, ".", "_" or "-" (at most 63, starting with a letter or digit)' }),
    appVersion: stringInput('app-version'),
    upload: booleanInput('upload', { default: true }),
    artifactName: stringInput('artifact-name', { pattern: ARTIFACT_NAME, patternDescription: 'an artifact name without " < > : | * ? \\ / or newlines' }),
    retentionDays: integerInput('retention-days', { default: 7, min: 1, max: 90 }),
    encryptionKey: secretInput('encryption-key'),
    verify: enumInput('verify', VERIFY_MODES, { default: 'archive' }),
    pgBinDir: stringInput('pg-bin-dir'),
    outputDir: stringInput('output-dir'),
  };
}

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ActionError, errorMessage } from '../errors.js';

/**
 * What backup-db records next to every backup (`<backup>.metadata.json`) and restore-db checks a
 * restore against. Versioned so an older restore-db can refuse metadata it does not understand.
 */
export const BACKUP_FORMATS = ['custom', 'directory', 'plain'] as const;
export type BackupFormat = (typeof BACKUP_FORMATS)[number];
export const METADATA_VERSION = 1;

export interface SchemaVersionInfo {
  /** Migration tool whose history table was found: golang-migrate, dbmate or diesel. */
  tool: string;
  table: string;
  version: string | null;
  dirty: boolean;
}

export interface BackupMetadata {
  metadataVersion: number;
  kind: 'backup' | 'safety-backup';
  createdAt: string;
  label: string;
  appVersion: string | null;
  database: string;
  /** user@host:port/database, never with a password. */
  source: string;
  serverVersion: string;
  pgDump: { version: string; major: number };
  format: BackupFormat;
  /** "none", "gzip:6", "zstd:3". */
  compression: string;
  /** How zstd was applied to a plain dump: "pg_dump" or "zstd program". */
  compressedBy: 'pg_dump' | 'zstd-program' | null;
  jobs: number;
  schemaOnly: boolean;
  tables: string[];
  excludeTables: string[];
  /** The backup's file or folder name, relative to the metadata file. */
  file: string;
  size: number;
  checksum: { algorithm: 'sha256'; value: string; files?: Record<string, string> };
  encryption: { algorithm: string; formatVersion: number; kdf: string } | null;
  schemaVersion: SchemaVersionInfo | null;
  /** Every table in the dump, "schema.table". */
  dumpedTables: string[];
  /** Exact row counts, read in the dump's own snapshot, of the largest tables (all of them when few). */
  rowCounts: Record<string, number>;
  /** Tables above backup-db's row-count-max-size: PostgreSQL's estimate (pg_class.reltuples), never compared at restore. */
  estimatedRowCounts?: Record<string, number>;
  rowCountsCover: 'all-tables' | 'largest-tables' | 'size-limited' | 'none';
  /** Whether the rows were counted in the very snapshot pg_dump dumped. */
  consistentSnapshot: boolean;
  verification: { archive: string; restore: string | null };
  durationMs: number;
  /** Milliseconds per phase (prepare, dump, rowCounts, verify, checksum...); rowCounts overlaps dump, checksum overlaps verify. */
  timings?: Record<string, number>;
  artifact: { name: string; retentionDays: number } | null;
  run: { repository: string | null; runId: string | null; runAttempt: string | null; workflow: string | null } | null;
}

export async function writeMetadata(file: string, metadata: BackupMetadata): Promise<void> {
  await writeFile(file, `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
}

function need(condition: boolean, file: string, what: string): void {
  if (!condition) throw new ActionError(`Backup metadata ${path.basename(file)} is not valid: ${what}.`);
}

/** Reads and sanity-checks a metadata file; a clear error when it is missing or malformed. */
export async function readMetadata(file: string): Promise<BackupMetadata> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ActionError(`Cannot read backup metadata ${file}: ${errorMessage(error)}`);
  }
  return parseMetadata(text, file);
}

/** Parses and sanity-checks metadata text; `file` names it in errors. */
export function parseMetadata(text: string, file: string): BackupMetadata {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ActionError(`Cannot read backup metadata ${file}: ${errorMessage(error)}`);
  }
  const metadata = parsed as BackupMetadata;
  need(typeof parsed === 'object' && parsed !== null, file, 'it is not a JSON object');
  need(typeof metadata.metadataVersion === 'number', file, 'metadataVersion is missing');
  if (metadata.metadataVersion > METADATA_VERSION) {
    throw new ActionError(
      `Backup metadata ${path.basename(file)} has version ${metadata.metadataVersion}; this restore-db knows up to ${METADATA_VERSION}. Use a newer release of restore-db.`,
    );
  }
  need(
    (BACKUP_FORMATS as readonly string[]).includes(metadata.format),
    file,
    `format "${String(metadata.format)}" is unknown`,
  );
  need(
    typeof metadata.file === 'string' &&
      metadata.file !== '' &&
      !metadata.file.includes('/') &&
      !metadata.file.includes('\\') &&
      metadata.file !== '..',
    file,
    'file must be a plain file name',
  );
  need(/^[0-9a-f]{64}$/.test(metadata.checksum?.value ?? ''), file, 'checksum.value must be a SHA-256 in hex');
  need(typeof metadata.rowCounts === 'object' && metadata.rowCounts !== null, file, 'rowCounts is missing');
  return metadata;
}

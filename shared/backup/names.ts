import os from 'node:os';
import path from 'node:path';
import type { BackupFormat } from './metadata.js';

/**
 * Names of backups, as artifacts and as files. The default artifact name puts the timestamp right
 * after the label, `db-backup-<label>-<YYYYMMDDTHHMMSSZ>-<database>`, so the label can be read back
 * without ambiguity even when labels contain dashes ("prod" never matches "prod-eu"'s backups).
 */
export const ARTIFACT_PREFIX = 'db-backup-';
export const SAFETY_ARTIFACT_PREFIX = 'db-safety-backup-';
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const LABEL_DESCRIPTION = 'letters, digits, ".", "_" or "-" (at most 63, starting with a letter or digit)';
/** Characters the artifact service refuses in names (actions/toolkit path-and-artifact-name-validation). */
export const ARTIFACT_NAME_PATTERN = /^[^"<>:|*?\r\n\\/]{1,200}$/;

/** 2026-05-04T03:02:01.123Z -> 20260504T030201Z */
export function compactTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** A name part made only of characters every file system and the artifact service accept. */
export function safeNamePart(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || '_';
}

export function defaultArtifactName(label: string, database: string, at: Date): string {
  return `${ARTIFACT_PREFIX}${label}-${compactTimestamp(at)}-${safeNamePart(database)}`;
}

export function safetyArtifactName(database: string, at: Date): string {
  return `${SAFETY_ARTIFACT_PREFIX}${safeNamePart(database)}-${compactTimestamp(at)}`;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether an artifact name is a default-named backup-db artifact of exactly this label. */
export function isBackupOfLabel(artifactName: string, label: string): boolean {
  return new RegExp(`^${escapeRegExp(ARTIFACT_PREFIX + label)}-\\d{8}T\\d{6}Z-`).test(artifactName);
}

/** The backup's file (or folder) name for a base name: .dump, .dir, or .sql[.gz|.zst], plus .age when encrypted. */
export function backupFileName(base: string, format: BackupFormat, plainSuffix: string, encrypted: boolean): string {
  const stem = safeNamePart(base);
  if (format === 'custom') return `${stem}.dump${encrypted ? '.age' : ''}`;
  // A directory keeps its name; its files get the .age suffix (see encryption.ts).
  if (format === 'directory') return `${stem}.dir`;
  return `${stem}${plainSuffix}${encrypted ? '.age' : ''}`;
}

/** The metadata file that sits next to a backup: `<backup path>.metadata.json`. */
export function metadataPathFor(backupPath: string): string {
  return `${backupPath.replace(/[\\/]+$/, '')}.metadata.json`;
}

export function backupPathForMetadata(metadataPath: string): string {
  return metadataPath.replace(/\.metadata\.json$/, '');
}

export function isMetadataFile(file: string): boolean {
  return path.basename(file).endsWith('.metadata.json');
}

/** output-dir's default, as action.yml documents it; the OS temp directory outside a runner. */
export function defaultBackupDir(): string {
  return path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'rollback-backups');
}

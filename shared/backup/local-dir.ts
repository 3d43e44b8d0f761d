import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ActionError } from '../errors.js';
import type { BackupEntry } from '../ledger/ledger.js';
import { readMetadata, type BackupMetadata } from './metadata.js';
import { isMetadataFile, safeNamePart } from './names.js';

/**
 * A run of the rollback workflows from a terminal (the rollback-actions command, its --backup-dir)
 * has no artifact service: backup-db keeps its backups in this directory of the operator's
 * machine, where every job of the run, apply-down-migrations' backup check and restore-db find them.
 */
export const LOCAL_BACKUP_DIR_ENV = 'ROLLBACK_BACKUP_DIR';

export function localBackupDir(): string | undefined {
  return process.env[LOCAL_BACKUP_DIR_ENV] || undefined;
}

/** Which backup restore-db wants: an artifact's name, or the latest of a label. */
export type WantedBackup = { name: string } | { label: string };

export interface BackupInDir {
  metadataPath: string;
  metadata: BackupMetadata;
  /** How it was chosen: the dir, the file, and the ledger entry that named it. */
  origin: string;
}

/** The ledger consulted for "the latest backup of a label", and the entry it gives (if any). */
export interface LedgerChoice {
  path: string;
  entry?: BackupEntry;
}

function describeWanted(wanted: WantedBackup): string {
  return 'name' in wanted ? `named "${wanted.name}"` : `of label "${wanted.label}"`;
}

function matches(metadata: BackupMetadata, wanted: WantedBackup): boolean {
  if ('name' in wanted)
    return metadata.artifact?.name === wanted.name || metadata.file.startsWith(`${safeNamePart(wanted.name)}.`);
  return metadata.kind === 'backup' && metadata.label === wanted.label;
}

/**
 * A backup kept in a local backup dir instead of an artifact. For the latest of a label, the
 * deployment ledger has the last word when it records one: the backup with the checksum of its
 * newest entry of that label, or an error (an older backup found here is not "the latest": restoring
 * it would lose what the newer one holds). Without a ledger entry, the newest metadata of the label.
 * The checksum itself is verified by the caller, as for an artifact.
 */
export async function findInBackupDir(
  dir: string,
  wanted: WantedBackup,
  ledger?: LedgerChoice,
  /** Why this dir: ROLLBACK_BACKUP_DIR, or backup-db's default dir. */
  dirSource = LOCAL_BACKUP_DIR_ENV,
): Promise<BackupInDir> {
  const where = `the local backup dir ${dir} (${dirSource})`;
  const names = await readdir(dir).catch(() => undefined);
  if (!names) throw new ActionError(`${where[0].toUpperCase()}${where.slice(1)} does not exist or cannot be read.`);
  const found: { metadataPath: string; metadata: BackupMetadata }[] = [];
  for (const name of names.filter(isMetadataFile)) {
    const metadataPath = path.join(dir, name);
    const metadata = await readMetadata(metadataPath).catch(() => undefined);
    if (metadata && matches(metadata, wanted)) found.push({ metadataPath, metadata });
  }
  const named = 'label' in wanted ? ledger?.entry : undefined;
  if (named?.checksum) {
    const checksum = named.checksum.replace(/^sha256:/, '').toLowerCase();
    const chosen = found.find((backup) => backup.metadata.checksum.value === checksum);
    if (!chosen)
      throw new ActionError(
        `The deployment ledger ${ledger!.path} records the latest backup ${describeWanted(wanted)} as ${named.location} (${named.time}, sha256:${checksum}), but no metadata in ${where} records that checksum (${found.length} other backup(s) ${describeWanted(wanted)} there). Nothing was restored.`,
        {
          hint: 'Copy that backup and its .metadata.json into the backup dir (--backup-dir), or name the backup to restore with path.',
        },
      );
    return {
      ...chosen,
      origin: `${chosen.metadata.file} in ${where}, the latest backup ${describeWanted(wanted)} in the deployment ledger ${ledger!.path} (${named.time}, sha256:${checksum})`,
    };
  }
  const newest = found.sort((a, b) => a.metadata.createdAt.localeCompare(b.metadata.createdAt)).at(-1);
  if (!newest)
    throw new ActionError(`No backup ${describeWanted(wanted)} is in ${where}. Nothing was restored.`, {
      hint: 'backup-db keeps its backups there when it runs without an artifact service; or name the backup to restore with path.',
    });
  const why =
    'name' in wanted
      ? ''
      : `, the newest ${describeWanted(wanted)} there${ledger ? ` (the deployment ledger ${ledger.path} records none)` : ''}`;
  return { ...newest, origin: `${newest.metadata.file} in ${where}${why}` };
}

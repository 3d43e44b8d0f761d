import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  artifactServiceAvailable,
  downloadArtifact,
  findArtifact,
  findLatestBackup,
  locateBackup,
  type ArtifactRef,
} from '../../shared/backup/artifacts.js';
import { findInBackupDir, localBackupDir } from '../../shared/backup/local-dir.js';
import { readMetadata, type BackupMetadata } from '../../shared/backup/metadata.js';
import { defaultBackupDir, isMetadataFile, metadataPathFor } from '../../shared/backup/names.js';
import { ActionError, InputError, errorMessage } from '../../shared/errors.js';
import { latestBackupOfLabel } from '../../shared/ledger/ledger.js';
import { ledgerShown, readLedgerAt, type LedgerLocation } from '../../shared/ledger/on-host.js';
import type { BackupSource } from './inputs.js';

/**
 * Where the backup to restore is, on this runner: a path as given, or an artifact downloaded into
 * the work directory. The metadata next to it is read when there is one.
 */
export interface LocalBackup {
  backupPath: string;
  metadata?: BackupMetadata;
  /** How it was found, for logs and the summary. */
  origin: string;
}

/** A folder that holds one backup plus its metadata (e.g. a downloaded artifact), not a directory-format dump itself. */
async function isBackupFolder(dir: string): Promise<boolean> {
  const names = await readdir(dir);
  return names.some(isMetadataFile) && !names.some((name) => /^toc\.dat(\.age|\.enc)?$/.test(name));
}

async function fromPath(given: string): Promise<LocalBackup> {
  const resolved = path.resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), given);
  const info = await stat(resolved).catch(() => undefined);
  if (!info) throw new InputError('path', `names ${resolved}, which does not exist.`);
  if (info.isDirectory() && (await isBackupFolder(resolved))) {
    return fromMetadata((await locateBackup(resolved)).metadataPath, `folder ${resolved}`);
  }
  const metadataPath = metadataPathFor(resolved);
  return existsSync(metadataPath)
    ? fromMetadata(metadataPath, `file ${resolved}`)
    : { backupPath: resolved, origin: `file ${resolved}` };
}

/** The backup is the file the metadata names, not whatever path led to the metadata. */
async function fromMetadata(metadataPath: string, origin: string): Promise<LocalBackup> {
  const metadata = await readMetadata(metadataPath);
  const named = path.join(path.dirname(metadataPath), metadata.file);
  if (!existsSync(named))
    throw new ActionError(
      `The metadata ${path.basename(metadataPath)} describes ${metadata.file}, which is not next to it.`,
    );
  return { backupPath: named, metadata, origin };
}

export async function obtainBackup(
  source: BackupSource,
  workDir: string,
  ledger?: LedgerLocation,
): Promise<LocalBackup> {
  if (source.kind === 'path') return fromPath(source.path);
  const localDir = localBackupDir();
  if (localDir) return fromBackupDir(localDir, source, ledger);
  try {
    return await fromArtifact(source, workDir);
  } catch (error) {
    // Not on a runner: a backup taken on this machine may be in backup-db's default dir. For "the
    // latest of a label" only when the ledger names it: an older backup is not the latest.
    if (artifactServiceAvailable() || (source.kind === 'latest-artifact' && !ledger)) throw error;
    const local = await fromBackupDir(defaultBackupDir(), source, ledger, "backup-db's default dir").catch(
      () => undefined,
    );
    if (!local) throw error;
    core.warning(`The artifact could not be read (${errorMessage(error)}); restoring ${local.origin} instead.`);
    return local;
  }
}

/** From a local backup dir (a run from a terminal keeps its backups there): the ledger names the latest of a label. */
async function fromBackupDir(
  dir: string,
  source: Exclude<BackupSource, { kind: 'path' }>,
  ledger: LedgerLocation | undefined,
  dirSource?: string,
): Promise<LocalBackup> {
  let found;
  if (source.kind === 'latest-artifact') {
    const entries = ledger && (await readLedgerAt(ledger));
    const entry = latestBackupOfLabel(entries ?? [], source.label);
    found = await findInBackupDir(
      dir,
      { label: source.label },
      ledger ? { path: ledgerShown(ledger), entry } : undefined,
      dirSource,
    );
  } else found = await findInBackupDir(dir, { name: source.name }, undefined, dirSource);
  return fromMetadata(found.metadataPath, found.origin);
}

async function fromArtifact(source: Exclude<BackupSource, { kind: 'path' }>, workDir: string): Promise<LocalBackup> {
  let ref: ArtifactRef;
  if (source.kind === 'latest-artifact') {
    ref = await findLatestBackup(source.label, { token: source.token!, runId: source.runId });
    core.info(
      `Latest backup for label "${source.label}": ${ref.name} (id ${ref.id}, run ${ref.runId ?? 'this run'}, created ${ref.createdAt?.toISOString() ?? 'unknown'}).`,
    );
  } else {
    ref = await findArtifact(source.name, { runId: source.runId, token: source.token });
  }
  const destination = path.join(workDir, 'artifact');
  await downloadArtifact(ref, { token: source.token, runId: ref.runId }, destination);
  const located = await locateBackup(destination);
  const backup = await fromMetadata(
    located.metadataPath,
    `artifact ${ref.name} (id ${ref.id}${ref.runId ? `, run ${ref.runId}` : ''})`,
  );
  // The name only says which label the artifact was made for; the metadata inside has the last word.
  if (source.kind === 'latest-artifact' && backup.metadata && backup.metadata.label !== source.label) {
    throw new ActionError(
      `Artifact ${ref.name} was found for label "${source.label}", but its metadata says label "${backup.metadata.label}".`,
    );
  }
  return backup;
}

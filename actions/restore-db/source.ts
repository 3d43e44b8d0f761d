import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  downloadArtifact,
  findArtifact,
  findLatestBackup,
  locateBackup,
  type ArtifactRef,
} from '../../shared/backup/artifacts.js';
import { readMetadata, type BackupMetadata } from '../../shared/backup/metadata.js';
import { isMetadataFile, metadataPathFor } from '../../shared/backup/names.js';
import { ActionError, InputError } from '../../shared/errors.js';
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

export async function obtainBackup(source: BackupSource, workDir: string): Promise<LocalBackup> {
  if (source.kind === 'path') return fromPath(source.path);
  let ref: ArtifactRef;
  if (source.kind === 'latest-artifact') {
    ref = await findLatestBackup(source.label, { token: source.token, runId: source.runId });
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

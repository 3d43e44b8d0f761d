import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { downloadArtifact, findArtifact, findLatestBackup, locateBackup, type ArtifactRef } from '../../shared/backup/artifacts.js';
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
  artifact?: ArtifactRef;
  /** How it was found, for logs and the summary. */
  origin: string;
}

/** A folder that holds one backup plus its metadata (e.g. a downloaded artifact), not a directory-format dump itself. */
async function isBackupFolder(dir: string): Promise<boolean> {
  const names = await readdir(dir);
  return names.some(isMetadataFile) && !names.some((name) => /^toc\.dat(\.enc)?$/.test(name));
}

async function fromPath(given: string): Promise<LocalBackup> {
  const resolved = path.resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), given);
  const info = await stat(resolved).catch(() => undefined);
  if (!info) throw new InputError('path', `names ${resolved}, which does not exist.`);
  if (info.isDirectory() && (await isBackupFolder(resolved))) {
    const located = await locateBackup(resolved);
    return withMetadata(located.backupPath, located.metadataPath, `folder ${resolved}`);
  }
  const metadataPath = metadataPathFor(resolved);
  return withMetadata(resolved, existsSync(metadataPath) ? metadataPath : undefined, `file ${resolved}`);
}

async function withMetadata(backupPath: string, metadataPath: string | undefined, origin: string): Promise<LocalBackup> {
  if (!metadataPath) return { backupPath, origin };
  const metadata = await readMetadata(metadataPath);
  const named = path.join(path.dirname(metadataPath), metadata.file);
  if (!existsSync(named)) throw new ActionError(`The metadata ${path.basename(metadataPath)} describes ${metadata.file}, which is not next to it.`);
  return { backupPath: named, metadata, origin };
}

export async function obtainBackup(source: BackupSource, workDir: string): Promise<LocalBackup> {
  if (source.kind === 'path') return fromPath(source.path);
  const ref =
    source.kind === 'latest-artifact'
      ? await findLatestBackup(source.label, { token: source.token, runId: source.runId })
      : await findArtifact(source.name, { runId: source.runId, token: source.token });
  if (source.kind === 'latest-artifact') {
    core.info(`Latest backup for label "${source.label}": ${ref.name} (id ${ref.id}, run ${ref.runId ?? 'this run'}, created ${ref.createdAt?.toISOString() ?? 'unknown'}).`);
  }
  const token = source.kind === 'latest-artifact' ? source.token : source.token;
  const destination = path.join(workDir, 'artifact');
  await downloadArtifact(ref, { token, runId: ref.runId }, destination);
  const located = await locateBackup(destination);
  const backup = await withMetadata(located.backupPath, located.metadataPath, `artifact ${ref.name} (id ${ref.id}${ref.runId ? `, run ${ref.runId}` : ''})`);
  if (source.kind === 'latest-artifact' && backup.metadata && backup.metadata.label !== source.label) {
    throw new ActionError(`Artifact ${ref.name} was found for label "${source.label}", but its metadata says label "${backup.metadata.label}".`);
  }
  return { ...backup, artifact: ref };
}

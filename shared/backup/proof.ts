import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ActionError, errorMessage } from '../errors.js';
import { httpRequest } from '../http/request.js';
import { artifactServiceAvailable } from './artifacts.js';
import { listFiles } from './checksum.js';
import { localBackupDir } from './local-dir.js';
import { parseMetadata, readMetadata, type BackupMetadata } from './metadata.js';
import { backupPathForMetadata, defaultBackupDir, isMetadataFile } from './names.js';
import { readZipEntry, readZipIndex, type RangeReader, type ZipEntry } from './zip-index.js';

/**
 * Proof that a backup exists, for actions that destroy data only after one was taken
 * (apply-down-migrations' backup-checksum). A checksum alone proves nothing: any 64 hex characters
 * have its shape. So the checksum is looked up in the metadata backup-db wrote next to the backup,
 * and the backup the metadata describes must be there with the size it records:
 *
 * 1. on this runner, in backup-db's default output-dir ($RUNNER_TEMP/rollback-backups): a backup
 *    taken earlier in the same job;
 * 2. among the artifacts of this workflow run, through the runner's artifact service: a backup
 *    taken in an earlier job of the run (the rollback workflow's backup job). Only each artifact's
 *    zip directory and its *.metadata.json are read, with ranged reads of the stored zip, so a
 *    dump of hundreds of gigabytes is not downloaded to check it.
 *
 * The backup must also be of the database about to change.
 */
export interface BackupProof {
  /** Where it was found, for logs and the summary. */
  where: string;
  metadata: BackupMetadata;
}

/** Artifacts of a run looked at, newest first; more is not a backup taken for this rollback. */
const MAX_ARTIFACTS = 50;
const REQUEST_TIMEOUT_MS = 30_000;

export async function proveBackup(checksum: string, database: string): Promise<BackupProof> {
  const wanted = checksum.replace(/^sha256:/, '').toLowerCase();
  // From a terminal (rollback-actions) the backups of every job are kept in one directory.
  const dir = localBackupDir() ?? defaultBackupDir();
  const looked: string[] = [];
  const found =
    (await findLocal(dir, wanted)) ??
    (artifactServiceAvailable() ? await findInRunArtifacts(wanted, looked) : undefined);
  if (!found) {
    const where = [
      `no *.metadata.json in ${dir} on this runner records it`,
      artifactServiceAvailable()
        ? `none of the ${looked.length} artifact(s) of this workflow run holds it${looked.length ? ` (${looked.join(', ')})` : ''}`
        : 'the artifact service is not reachable from this step',
    ];
    throw new ActionError(
      `Input "backup-checksum" is ${wanted}, but no backup with that checksum was found: ${where.join(', and ')}. Nothing was changed.`,
      {
        hint: 'Pass the checksum output of a backup-db step of this workflow run (in this job, or in an earlier job with upload: true), or set skip-backup-check: true to go on without a backup.',
      },
    );
  }
  if (found.metadata.database !== database) {
    throw new ActionError(
      `The backup with checksum ${wanted} (${found.where}) is of database "${found.metadata.database}", not of "${database}", which this step would change. Nothing was changed.`,
      {
        hint: 'Pass the checksum of a backup of this database.',
      },
    );
  }
  return found;
}

async function findLocal(dir: string, checksum: string): Promise<BackupProof | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter(isMetadataFile)) {
    const file = path.join(dir, name);
    const metadata = await readMetadata(file).catch(() => undefined);
    if (metadata?.checksum.value !== checksum) continue;
    const backup = backupPathForMetadata(file);
    const size = await sizeOnDisk(backup);
    if (size !== metadata.size) {
      throw new ActionError(
        `The metadata ${file} records checksum ${checksum}, but ${size === undefined ? `the backup ${backup} is not next to it` : `${backup} has ${size} bytes, not the ${metadata.size} it records`}. Nothing was changed.`,
      );
    }
    return { where: `metadata file ${file}`, metadata };
  }
  return undefined;
}

async function sizeOnDisk(backup: string): Promise<number | undefined> {
  const info = await stat(backup).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await listFiles(backup)) total += (await stat(path.join(backup, name))).size;
  return total;
}

// ---------------------------------------------------------------------------------------------
// The artifact service of this run: the Twirp API @actions/artifact itself calls, read-only.
// ---------------------------------------------------------------------------------------------

interface RunArtifact {
  name: string;
  id: string;
  size: number;
  jobBackendId: string;
}

interface BackendIds {
  workflow_run_backend_id: string;
  workflow_job_run_backend_id: string;
}

/** The run and job ids in the runtime token's scp claim ("Actions.Results:<run>:<job>"), as @actions/artifact reads them. */
function backendIds(token: string): BackendIds {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { scp?: string };
  const scope = (payload.scp ?? '').split(' ').find((part) => part.startsWith('Actions.Results:'));
  const [, run, job] = scope?.split(':') ?? [];
  if (!run || !job)
    throw new ActionError(
      'ACTIONS_RUNTIME_TOKEN carries no Actions.Results scope: the artifacts of this run cannot be read.',
    );
  return { workflow_run_backend_id: run, workflow_job_run_backend_id: job };
}

async function twirp<T>(method: string, body: object): Promise<T> {
  const token = process.env.ACTIONS_RUNTIME_TOKEN!;
  const url = new URL(
    `twirp/github.actions.results.api.v1.ArtifactService/${method}`,
    process.env.ACTIONS_RESULTS_URL!,
  );
  const response = await httpRequest({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  if (response.status !== 200)
    throw new Error(`${method} answered HTTP ${response.status}: ${response.body.toString('utf8').slice(0, 200)}`);
  return JSON.parse(response.body.toString('utf8')) as T;
}

async function listRunArtifacts(ids: BackendIds): Promise<RunArtifact[]> {
  const { artifacts = [] } = await twirp<{
    artifacts?: { name: string; database_id: string; size: string; workflow_job_run_backend_id: string }[];
  }>('ListArtifacts', ids);
  return artifacts
    .map((artifact) => ({
      name: artifact.name,
      id: artifact.database_id,
      size: Number(artifact.size),
      jobBackendId: artifact.workflow_job_run_backend_id,
    }))
    .sort((a, b) => Number(b.id) - Number(a.id));
}

function rangeReader(url: string): RangeReader {
  return async (start, end) => {
    const response = await httpRequest({
      url,
      headers: { range: `bytes=${start}-${end - 1}` },
      timeoutMs: REQUEST_TIMEOUT_MS,
      maxBodyBytes: end - start,
    });
    if (response.status !== 206) throw new Error(`the storage answered HTTP ${response.status} to a ranged read`);
    return response.body;
  };
}

async function findInRunArtifacts(checksum: string, looked: string[]): Promise<BackupProof | undefined> {
  let artifacts: RunArtifact[];
  const ids = backendIds(process.env.ACTIONS_RUNTIME_TOKEN!);
  try {
    artifacts = await listRunArtifacts(ids);
  } catch (error) {
    throw new ActionError(
      `Listing the artifacts of this workflow run failed: ${errorMessage(error)}. Nothing was changed.`,
    );
  }
  for (const artifact of artifacts.slice(0, MAX_ARTIFACTS)) {
    looked.push(artifact.name);
    let metadata: BackupMetadata | undefined;
    let entries: ZipEntry[];
    try {
      const { signed_url: url } = await twirp<{ signed_url: string }>('GetSignedArtifactURL', {
        workflow_run_backend_id: ids.workflow_run_backend_id,
        workflow_job_run_backend_id: artifact.jobBackendId,
        name: artifact.name,
      });
      const read = rangeReader(url);
      entries = await readZipIndex(read, artifact.size);
      const metadataEntry = entries.find((entry) => !entry.name.includes('/') && isMetadataFile(entry.name));
      if (!metadataEntry) continue;
      metadata = parseMetadata(
        (await readZipEntry(read, metadataEntry, artifact.size)).toString('utf8'),
        `${artifact.name}/${metadataEntry.name}`,
      );
    } catch (error) {
      // Not a backup-db artifact (or not one we can read): the next one may be.
      looked[looked.length - 1] = `${artifact.name}: ${errorMessage(error)}`;
      continue;
    }
    if (metadata.checksum.value !== checksum) continue;
    const held = entries
      .filter((entry) => entry.name === metadata.file || entry.name.startsWith(`${metadata.file}/`))
      .reduce((total, entry) => total + entry.size, 0);
    const where = `artifact "${artifact.name}" (id ${artifact.id}) of this workflow run`;
    if (held !== metadata.size) {
      throw new ActionError(
        `The ${where} records checksum ${checksum}, but holds ${held} bytes of ${metadata.file}, not the ${metadata.size} its metadata records. Nothing was changed.`,
      );
    }
    return { where, metadata };
  }
  return undefined;
}

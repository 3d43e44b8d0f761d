import * as core from '@actions/core';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ActionError, errorMessage } from '../errors.js';
import { repositoryFromEnv } from '../github/deployments.js';
import { listFiles } from './checksum.js';
import { isBackupOfLabel, isMetadataFile, backupPathForMetadata } from './names.js';

/**
 * Backups as workflow artifacts, through @actions/artifact (the client upload-artifact and
 * download-artifact use): this run's artifacts through the runner's artifact service, other runs'
 * and "the latest backup for a label" through the REST API with a token.
 */
export interface ArtifactRef {
  id: number;
  name: string;
  /** The run that holds it; undefined for this run. */
  runId?: number;
  digest?: string;
  createdAt?: Date;
  size?: number;
}

// Loaded on first use: the artifact client and its Azure SDK are most of the bundle, and a backup
// with upload: false should not pay for loading them.
async function artifactClient() {
  const { DefaultArtifactClient } = await import('@actions/artifact');
  return new DefaultArtifactClient();
}

/** Whether this step can reach the artifact service (the runner sets both for every job). */
export function artifactServiceAvailable(): boolean {
  return Boolean(process.env.ACTIONS_RUNTIME_TOKEN && process.env.ACTIONS_RESULTS_URL);
}

export function repository(): { owner: string; repo: string } {
  const found = repositoryFromEnv();
  if (!found)
    throw new ActionError(
      'GITHUB_REPOSITORY is not set (owner/repo): artifacts of other runs cannot be looked up outside GitHub Actions.',
    );
  return found;
}

/** Uploads the backup (file or directory) and its metadata as one artifact. */
export async function uploadBackupArtifact(options: {
  name: string;
  backupPath: string;
  metadataPath: string;
  retentionDays: number;
  /** Already compressed or encrypted: zip would only burn CPU (level 0 stores). */
  incompressible: boolean;
}): Promise<{ id: number; size: number; digest?: string }> {
  const root = path.dirname(options.backupPath);
  const isDirectory = (await stat(options.backupPath)).isDirectory();
  const files = isDirectory
    ? (await listFiles(options.backupPath)).map((name) => path.join(options.backupPath, name))
    : [options.backupPath];
  files.push(options.metadataPath);
  const client = await artifactClient();
  try {
    const result = await client.uploadArtifact(options.name, files, root, {
      retentionDays: options.retentionDays,
      compressionLevel: options.incompressible ? 0 : 6,
    });
    if (result.id === undefined) throw new Error('the artifact service returned no artifact id');
    return { id: result.id, size: result.size ?? 0, digest: result.digest };
  } catch (error) {
    throw new ActionError(`Uploading the backup as artifact "${options.name}" failed: ${errorMessage(error)}`, {
      hint: 'The backup itself is complete on the runner (see the path output); re-run, or keep it with upload: false and your own storage step.',
    });
  }
}

function notFoundHint(runId: number | undefined): string {
  return runId === undefined
    ? 'Artifacts of other runs need run-id and a github-token with actions: read; artifacts expire after their retention days.'
    : 'Check run-id, that github-token can read actions of this repository, and that the artifact has not expired.';
}

/** The newest artifact with exactly this name, in this run or in run `runId` (with a token). */
export async function findArtifact(name: string, options: { runId?: number; token?: string }): Promise<ArtifactRef> {
  const client = await artifactClient();
  try {
    if (options.runId === undefined) {
      const { artifact } = await client.getArtifact(name);
      return {
        id: artifact.id,
        name: artifact.name,
        digest: artifact.digest,
        createdAt: artifact.createdAt,
        size: artifact.size,
      };
    }
    const { owner, repo } = repository();
    const { artifact } = await client.getArtifact(name, {
      findBy: { token: options.token!, workflowRunId: options.runId, repositoryOwner: owner, repositoryName: repo },
    });
    return {
      id: artifact.id,
      name: artifact.name,
      runId: options.runId,
      digest: artifact.digest,
      createdAt: artifact.createdAt,
      size: artifact.size,
    };
  } catch (error) {
    const where = options.runId === undefined ? 'this workflow run' : `workflow run ${options.runId}`;
    throw new ActionError(`No artifact named "${name}" was found in ${where}: ${errorMessage(error).split('\n')[0]}`, {
      hint: notFoundHint(options.runId),
    });
  }
}

interface RestArtifact {
  id: number;
  name: string;
  size_in_bytes: number;
  expired: boolean;
  created_at: string | null;
  digest?: string | null;
  workflow_run?: { id?: number } | null;
}

/** The newest unexpired default-named backup artifact for `label`, repository-wide or in one run. */
export async function findLatestBackup(
  label: string,
  options: { token: string; runId?: number },
): Promise<ArtifactRef> {
  const { getOctokit } = await import('@actions/github');
  const { owner, repo } = repository();
  const octokit = getOctokit(options.token);
  const route =
    options.runId === undefined
      ? 'GET /repos/{owner}/{repo}/actions/artifacts'
      : 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts';
  const candidates: RestArtifact[] = [];
  let scanned = 0;
  try {
    // Newest first; 10 pages of 100 is far more than a retention window of backups.
    for await (const page of octokit.paginate.iterator(route, { owner, repo, run_id: options.runId, per_page: 100 })) {
      const artifacts = page.data as unknown as RestArtifact[] | { artifacts: RestArtifact[] };
      const list = Array.isArray(artifacts) ? artifacts : artifacts.artifacts;
      scanned += list.length;
      candidates.push(...list.filter((artifact) => !artifact.expired && isBackupOfLabel(artifact.name, label)));
      if (scanned >= 1000) break;
    }
  } catch (error) {
    throw new ActionError(`Listing the artifacts of ${owner}/${repo} failed: ${errorMessage(error)}`, {
      hint: 'github-token needs actions: read on this repository.',
    });
  }
  const newest = candidates.sort(
    (a, b) => Date.parse(b.created_at ?? '') - Date.parse(a.created_at ?? '') || b.id - a.id,
  )[0];
  if (!newest) {
    throw new ActionError(
      `No unexpired backup artifact for label "${label}" in ${options.runId === undefined ? `${owner}/${repo}` : `workflow run ${options.runId}`} (looked at ${scanned} artifact(s) named db-backup-${label}-<timestamp>-<database>).`,
      {
        hint: 'Backups with a custom artifact-name are found by that name, not by label; expired artifacts cannot be restored.',
      },
    );
  }
  return {
    id: newest.id,
    name: newest.name,
    runId: newest.workflow_run?.id ?? options.runId,
    digest: newest.digest ?? undefined,
    createdAt: newest.created_at ? new Date(newest.created_at) : undefined,
    size: newest.size_in_bytes,
  };
}

/** Downloads and unzips an artifact into `destination`, checking the digest the service recorded. */
export async function downloadArtifact(
  ref: ArtifactRef,
  options: { token?: string; runId?: number },
  destination: string,
): Promise<void> {
  const client = await artifactClient();
  const viaApi = ref.runId !== undefined && options.token !== undefined;
  try {
    const { owner, repo } = viaApi ? repository() : { owner: '', repo: '' };
    const result = await client.downloadArtifact(ref.id, {
      path: destination,
      expectedHash: ref.digest,
      ...(viaApi
        ? { findBy: { token: options.token!, workflowRunId: ref.runId!, repositoryOwner: owner, repositoryName: repo } }
        : {}),
    });
    if (result.digestMismatch) {
      throw new ActionError(
        `Artifact "${ref.name}" (id ${ref.id}) arrived with a different SHA-256 than the artifact service recorded at upload: it was damaged in storage or in transit.`,
      );
    }
  } catch (error) {
    if (error instanceof ActionError) throw error;
    throw new ActionError(`Downloading artifact "${ref.name}" (id ${ref.id}) failed: ${errorMessage(error)}`, {
      hint: notFoundHint(ref.runId),
    });
  }
  core.info(`Downloaded artifact "${ref.name}" (id ${ref.id}) into ${destination}.`);
}

/** The backup and its metadata inside a downloaded artifact (or any folder holding one backup). */
export async function locateBackup(dir: string): Promise<{ backupPath: string; metadataPath: string }> {
  const metadataFiles = (await readdir(dir)).filter(isMetadataFile);
  if (metadataFiles.length !== 1) {
    throw new ActionError(
      metadataFiles.length === 0
        ? `${dir} holds no *.metadata.json: it is not a backup made by backup-db.`
        : `${dir} holds ${metadataFiles.length} backups (${metadataFiles.join(', ')}); expected one.`,
    );
  }
  const metadataPath = path.join(dir, metadataFiles[0]);
  return { backupPath: backupPathForMetadata(metadataPath), metadataPath };
}

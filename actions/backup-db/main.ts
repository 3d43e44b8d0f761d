import * as core from '@actions/core';
import { artifactServiceAvailable, uploadBackupArtifact } from '../../shared/backup/artifacts.js';
import { prepareBackup, takeBackup } from '../../shared/backup/backup.js';
import { LOCAL_BACKUP_DIR_ENV, localBackupDir } from '../../shared/backup/local-dir.js';
import { defaultArtifactName, defaultBackupDir } from '../../shared/backup/names.js';
import { journal } from '../../shared/cancellation.js';
import { formatBytes } from '../../shared/backup/progress.js';
import { formatDuration } from '../../shared/duration.js';
import { errorMessage, InputError } from '../../shared/errors.js';
import { appendLedgerOrWarn, ledgerShown } from '../../shared/ledger/on-host.js';
import { emitEvent } from '../../shared/events.js';
import { setOutputs } from '../../shared/outputs.js';
import { describeTarget } from '../../shared/postgres/connection.js';
import { writeSummary } from '../../shared/summary.js';
import { readBackupInputs, readBackupMethod } from './inputs.js';
import { backupSummary } from './summary.js';

export async function run(): Promise<void> {
  const started = Date.now();
  // Method pgbackrest's modules are loaded on its path only: a dump's start compiles none of them.
  if (readBackupMethod() === 'pgbackrest') return await (await import('./pgbackrest.js')).runPgBackRestBackup(started);
  const given = await readBackupInputs();
  const localDir = localBackupDir();
  const keptLocally = given.upload && !artifactServiceAvailable() && localDir !== undefined;
  const inputs = keptLocally ? { ...given, upload: false, outputDir: given.outputDir ?? localDir } : given;
  if (keptLocally)
    core.info(
      `No artifact service (a run from a terminal): the backup is kept in ${inputs.outputDir} (${LOCAL_BACKUP_DIR_ENV}) instead of uploaded.`,
    );
  if (inputs.upload && !artifactServiceAvailable()) {
    throw new InputError(
      'upload',
      'is true, but this step cannot reach the artifact service (ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set).',
      {
        hint: 'Run it as a step of a GitHub Actions job, or set upload: false and keep the file from the path output yourself.',
      },
    );
  }
  const artifactName = inputs.artifactName ?? defaultArtifactName(inputs.label, inputs.target.database, new Date());
  const outputDir = inputs.outputDir ?? defaultBackupDir();

  const prepared = await prepareBackup({
    target: inputs.target,
    format: inputs.format,
    jobs: inputs.jobs,
    compression: inputs.compression,
    schemaOnly: inputs.schemaOnly,
    tables: inputs.tables,
    excludeTables: inputs.excludeTables,
    label: inputs.label,
    appVersion: inputs.appVersion,
    encryptionKey: inputs.encryptionKey,
    verify: inputs.verify,
    pgBinDir: inputs.pgBinDir,
    outputDir,
    sizeGate: inputs.sizeGate,
    rowCountMaxBytes: inputs.rowCountMaxBytes,
    baseName: artifactName,
    kind: 'backup',
    artifact: inputs.upload ? { name: artifactName, retentionDays: inputs.retentionDays } : undefined,
  });
  journal.step(
    `Connected to ${describeTarget(inputs.target)} (PostgreSQL ${prepared.server.text}); chose pg_dump ${prepared.pgDump.version}`,
  );
  emitEvent('backup_start', {
    database: inputs.target.database,
    label: inputs.label,
    format: inputs.format,
    server_version: prepared.server.text,
  });
  const backup = await takeBackup(prepared);
  core.info(`Backup ${backup.path}: ${formatBytes(backup.size)}, SHA-256 ${backup.checksum}.`);
  journal.step(`Wrote and verified the backup ${backup.path} and its metadata (SHA-256 ${backup.checksum})`);

  let artifact: { id: number; name: string; retentionDays: number } | undefined;
  if (inputs.upload) {
    const uploaded = await uploadBackupArtifact({
      name: artifactName,
      backupPath: backup.path,
      metadataPath: backup.metadataPath,
      retentionDays: inputs.retentionDays,
      incompressible: inputs.compression.method !== 'none' || Boolean(inputs.encryptionKey),
    });
    artifact = { id: uploaded.id, name: artifactName, retentionDays: inputs.retentionDays };
    core.info(`Uploaded artifact ${artifactName} (id ${uploaded.id}, ${formatBytes(uploaded.size)}).`);
  }

  const durationMs = Date.now() - started;
  setOutputs({
    path: backup.path,
    'metadata-path': backup.metadataPath,
    checksum: backup.checksum,
    size: backup.size,
    'artifact-id': artifact?.id,
    'artifact-name': artifact?.name,
    metadata: backup.metadata,
    'schema-version': backup.metadata.schemaVersion?.version ?? '',
    'duration-ms': durationMs,
  });
  await writeSummary(backupSummary({ metadata: backup.metadata, path: backup.path, artifact, durationMs }));
  emitEvent('backup_complete', {
    database: inputs.target.database,
    label: inputs.label,
    checksum: backup.checksum,
    size: backup.size,
    artifact_id: artifact?.id,
    artifact_name: artifact?.name,
    schema_version: backup.metadata.schemaVersion?.version ?? null,
    duration_ms: durationMs,
  });
  // A ledger that cannot be written is a warning: the backup stands.
  const { ledger } = inputs;
  if (ledger) {
    await appendLedgerOrWarn(
      ledger,
      {
        type: 'backup',
        label: inputs.label,
        appVersion: inputs.appVersion,
        schemaVersion: backup.metadata.schemaVersion?.version ?? undefined,
        checksum: `sha256:${backup.checksum}`,
        location: artifact ? `artifact ${artifact.name} (id ${artifact.id}); ${backup.path}` : backup.path,
        database: inputs.target.database,
        method: 'dump',
      },
      (error) => `Could not append to the deployment ledger ${ledgerShown(ledger)}: ${errorMessage(error)}`,
    );
  }
  core.info(`Backup complete in ${formatDuration(durationMs)}.`);
}

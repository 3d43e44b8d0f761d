import * as core from '@actions/core';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkListing, listArchive } from '../../shared/backup/archive.js';
import { artifactServiceAvailable, uploadBackupArtifact } from '../../shared/backup/artifacts.js';
import { prepareBackup, takeBackup, type BackupResult } from '../../shared/backup/backup.js';
import { parseCompression } from '../../shared/backup/compression.js';
import { decryptBackup, isEncryptedBackup } from '../../shared/backup/encryption.js';
import { compareWithBackup, describeComparison, inspectDatabase } from '../../shared/backup/inspect.js';
import type { BackupMetadata } from '../../shared/backup/metadata.js';
import { compactTimestamp, defaultBackupDir, safetyArtifactName } from '../../shared/backup/names.js';
import { restoreBackup } from '../../shared/backup/restore.js';
import { detectFormat, verifyChecksum } from '../../shared/backup/verify-stored.js';
import { cancellation, journal } from '../../shared/cancellation.js';
import { formatDuration } from '../../shared/duration.js';
import { ActionError, InputError, errorMessage } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { setOutputs } from '../../shared/outputs.js';
import { detectSchemaVersion } from '../../shared/migrations/detect-history.js';
import { restoreIdentity, verifyPlanDigest } from '../../shared/migrations/plan-digest.js';
import {
  describeTarget,
  serverVersion,
  withClient,
  withDatabase,
  type PgTarget,
} from '../../shared/postgres/connection.js';
import {
  createDatabase,
  databaseExists,
  dropDatabase,
  firstFreeDatabaseName,
} from '../../shared/postgres/databases.js';
import { findPgTool } from '../../shared/postgres/pg-tools.js';
import {
  describeSession,
  lockHoldersNow,
  otherSessions,
  terminateSessions,
  type Session,
} from '../../shared/postgres/sessions.js';
import { writeSummary } from '../../shared/summary.js';
import { readRestoreInputs, readRestoreMethod, type RestoreInputs } from './inputs.js';
import { obtainBackup } from './source.js';
import { restoreSummary } from './summary.js';
import { swapDatabases } from './swap.js';
import { restoreTablesFromDump } from './tables.js';

/** Safety backups are kept as long as backup-db's default. */
const SAFETY_RETENTION_DAYS = 7;

function defaultTargetName(database: string, at: Date): string {
  const stamp = compactTimestamp(at).toLowerCase().replace('t', '_').replace('z', '');
  return `${database.slice(0, 63 - '_restore_'.length - stamp.length)}_restore_${stamp}`;
}

/**
 * The migration version the restored database must have: the one recorded at backup time, when the
 * backup carries the history table's rows (not schema-only, the table not filtered out).
 */
function expectedSchemaVersion(metadata: BackupMetadata | undefined, restored: string | null): string | null {
  if (!metadata) return restored;
  const history = metadata.schemaVersion;
  if (!history) return null;
  if (metadata.schemaOnly || !metadata.dumpedTables.includes(history.table)) return restored;
  return history.version;
}

/**
 * What was approved is what runs: restoring this backup (at the schema version its metadata records)
 * over the database in database-url, whose history says what the restore undoes, must be the plan
 * whose digest the approver saw.
 */
async function checkRestorePlan(
  target: PgTarget,
  expected: string,
  metadata: BackupMetadata | undefined,
): Promise<void> {
  if (!metadata) {
    throw new InputError(
      'expected-plan-digest',
      'is set, but this backup has no metadata, so the schema version it restores to is unknown and the plan cannot be checked. Nothing was restored.',
    );
  }
  const restoresTo = metadata.schemaVersion?.version ?? null;
  await withClient(target, async (client) =>
    verifyPlanDigest(expected, (await restoreIdentity(client, restoresTo)).identity),
  );
  core.info(`The plan is the approved one (${expected}): restore to schema ${restoresTo ?? 'none'}.`);
}

/** The refusal to replace a database others are connected to, listing them. */
function sessionsRefusal(database: string, sessions: Session[], afterSafety: string | undefined): ActionError {
  return new ActionError(
    `${sessions.length} other session(s) are connected to ${database}, which mode "replace" would drop and restore; ${afterSafety ?? 'nothing was downloaded or changed'}.\n${sessions.map((session) => `- ${describeSession(session)}`).join('\n')}`,
    {
      hint: 'Stop the application (and anything else using the database) first: whatever they write after the safety backup would be lost, and their open transactions hold locks the restore waits behind. Or set terminate-connections: true to end these sessions after the safety backup.',
    },
  );
}

/** When `error` is a wait cut short by lock-timeout: who could be holding the lock now. */
async function lockHoldersExplanation(inputs: RestoreInputs, database: string, error: unknown): Promise<string> {
  if (!/lock-timeout|lock timeout|could not obtain lock/i.test(errorMessage(error))) return '';
  const holders = await withClient(inputs.target, (client) => lockHoldersNow(client, database)).catch(() => []);
  return `\nHolding locks on ${database} now: ${holders.length ? `\n${holders.map((holder) => `- ${holder}`).join('\n')}` : 'no session or prepared transaction (the holder has gone).'}`;
}

/**
 * Just before replacing: nobody else may be connected. With terminate-connections they are ended
 * (after the safety backup, so it holds what they wrote), otherwise the restore is refused.
 */
async function clearSessions(inputs: RestoreInputs, database: string, safety: BackupResult | undefined): Promise<void> {
  await withClient(inputs.target, async (client) => {
    const sessions = await otherSessions(client, database);
    if (sessions.length === 0) return;
    if (!inputs.terminateConnections)
      throw sessionsRefusal(
        database,
        sessions,
        safety ? `the safety backup ${safety.path} was taken, nothing was replaced` : 'nothing was replaced',
      );
    for (const session of sessions)
      core.info(`Ending session ${describeSession(session)} (terminate-connections: true).`);
    const left = await terminateSessions(
      client,
      database,
      sessions.map((session) => session.pid),
      Math.max(5000, inputs.lockTimeoutMs),
    );
    for (const session of sessions)
      if (!left.some((other) => other.pid === session.pid))
        journal.step(
          `Ended session pid ${session.pid} (${session.application ?? 'no application name'}, ${session.state})`,
        );
    if (left.length)
      throw sessionsRefusal(database, left, 'terminate-connections could not end them; nothing was replaced');
  });
}

/** The safety backup, or an error saying it failed and that nothing was replaced. */
async function safetyBackup(
  inputs: RestoreInputs,
  database: string,
  prepare: () => ReturnType<typeof prepareBackup>,
): Promise<BackupResult> {
  try {
    return await takeBackup(await prepare());
  } catch (error) {
    if (cancellation.cancelled) throw error;
    const holders = await lockHoldersExplanation(inputs, database, error);
    const waited = holders
      ? `\nIt waited longer than lock-timeout (${formatDuration(inputs.lockTimeoutMs)}) for a lock.`
      : '';
    throw new ActionError(
      `The safety backup of ${database} failed, so nothing was replaced: ${errorMessage(error)}${waited}${holders}`,
      {
        hint: error instanceof ActionError ? error.hint : undefined,
      },
    );
  }
}

export async function run(): Promise<void> {
  const started = Date.now();
  // Method pgbackrest's modules are loaded on its path only: a dump restore's start compiles none of them.
  if (readRestoreMethod() === 'pgbackrest')
    return await (await import('./pgbackrest.js')).runPgBackRestRestore(started);
  const now = new Date();
  const inputs = await readRestoreInputs();
  const replace = inputs.mode === 'replace';

  // 1. The server, and the target's state, before downloading anything: fail in seconds, not after a download.
  const { server, database, initialVersion } = await withClient(inputs.target, async (client) => {
    const version = await serverVersion(client);
    const initialVersion = (await detectSchemaVersion(client))?.version ?? null;
    if (replace) {
      const sessions = await otherSessions(client, inputs.target.database);
      if (sessions.length && !inputs.terminateConnections)
        throw sessionsRefusal(inputs.target.database, sessions, undefined);
      return { server: version, database: inputs.target.database, initialVersion };
    }
    if (!inputs.targetDatabase)
      return {
        server: version,
        database: await firstFreeDatabaseName(client, defaultTargetName(inputs.target.database, now)),
        initialVersion,
      };
    if (await databaseExists(client, inputs.targetDatabase)) {
      throw new InputError(
        'target-database',
        `would restore into "${inputs.targetDatabase}", which already exists; restore-db only restores into a new database unless mode is "replace".`,
      );
    }
    return { server: version, database: inputs.targetDatabase, initialVersion };
  });
  core.info(`Connected to ${describeTarget(inputs.target)}: PostgreSQL ${server.text}.`);
  if (replace && inputs.safetyBackup && !artifactServiceAvailable()) {
    core.warning(
      'The safety backup cannot be uploaded (no artifact service in this environment); it stays on this runner only, see the safety-backup-path output.',
    );
  }

  journal.step(`Connected to ${describeTarget(inputs.target)} (PostgreSQL ${server.text})`);
  const workDir = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'rollback-restore-'));
  const workDirDone = cancellation.partialFile(workDir);
  try {
    // 2. The backup, verified and decrypted, before any database is touched.
    const backup = await obtainBackup(inputs.source, workDir, inputs.ledger);
    core.info(`Backup: ${backup.origin}.`);
    const checksum = await verifyChecksum(backup.backupPath, {
      checksum: inputs.expectedChecksum,
      metadata: backup.metadata,
    });
    core.info(`Checksum verified: SHA-256 ${checksum}.`);

    if (inputs.expectedPlanDigest) await checkRestorePlan(inputs.target, inputs.expectedPlanDigest, backup.metadata);

    const encrypted = backup.metadata
      ? backup.metadata.encryption !== null
      : await isEncryptedBackup(backup.backupPath);
    let plainPath = backup.backupPath;
    if (encrypted) {
      if (!inputs.encryptionKey)
        throw new InputError('encryption-key', 'is required: this backup is encrypted. Nothing was restored.');
      plainPath = await decryptBackup(backup.backupPath, inputs.encryptionKey, path.join(workDir, 'plain'));
      core.info('Decrypted and authenticated every chunk of the backup.');
    } else if (inputs.encryptionKey) {
      core.warning('encryption-key was given, but this backup is not encrypted; it was restored as it is.');
    }
    const format = backup.metadata?.format ?? (await detectFormat(plainPath));

    // 3. Client programs able to read this archive and talk to this server.
    const dumpMajor = backup.metadata?.pgDump.major ?? 0;
    const [pgRestore, psql] = await Promise.all([
      format === 'plain' ? undefined : findPgTool('pg_restore', Math.max(server.major, dumpMajor), inputs.pgBinDir),
      format === 'plain' ? findPgTool('psql', server.major, inputs.pgBinDir) : undefined,
    ]);
    if (pgRestore) {
      const listing = await listArchive(pgRestore, plainPath);
      const expectedTables = (backup.metadata?.dumpedTables ?? []).map((name) => {
        const dot = name.indexOf('.');
        return { schema: name.slice(0, dot), name: name.slice(dot + 1) };
      });
      const problems = checkListing(listing, { tables: expectedTables, withData: [] });
      if (problems.length)
        throw new ActionError(
          `The archive does not hold what its metadata lists: ${problems.join('; ')}. Nothing was restored.`,
        );
      core.info(`Archive readable by pg_restore ${pgRestore.version}: ${listing.entries.length} entries.`);
    }

    if (inputs.tables.tables.length > 0) {
      if (!pgRestore)
        throw new InputError(
          'tables',
          'needs a custom or directory backup, which pg_restore can read table by table; this one is plain SQL. Nothing was restored.',
        );
      return await restoreTablesFromDump({
        tables: inputs.tables,
        target: inputs.target,
        server,
        pgRestore,
        archive: plainPath,
        metadata: backup.metadata,
        origin: backup.origin,
        checksum,
        noOwner: inputs.noOwner,
        pgBinDir: inputs.pgBinDir,
        workDir,
        started,
      });
    }

    // 4. The safety net, then the restore.
    const target = withDatabase(inputs.target, database);
    let safety: BackupResult | undefined;
    let safetyArtifact: string | undefined;
    if (replace && inputs.safetyBackup) {
      const name = safetyArtifactName(database, now);
      core.info(`Taking a safety backup of ${database} before replacing it.`);
      safety = await safetyBackup(inputs, database, () =>
        prepareBackup({
          target,
          format: 'custom',
          jobs: 1,
          compression: parseCompression('gzip:1'),
          schemaOnly: false,
          tables: [],
          excludeTables: [],
          label: backup.metadata?.label ?? 'safety',
          encryptionKey: inputs.encryptionKey?.key,
          verify: 'archive',
          pgBinDir: inputs.pgBinDir,
          outputDir: defaultBackupDir(),
          baseName: name,
          kind: 'safety-backup',
          sizeGate: {},
          artifact: artifactServiceAvailable() ? { name, retentionDays: SAFETY_RETENTION_DAYS } : undefined,
          lockWaitTimeoutMs: inputs.lockTimeoutMs,
        }),
      );
      journal.step(`Took the safety backup ${safety.path}`);
      if (artifactServiceAvailable()) {
        await uploadBackupArtifact({
          name,
          backupPath: safety.path,
          metadataPath: safety.metadataPath,
          retentionDays: SAFETY_RETENTION_DAYS,
          incompressible: true,
        });
        safetyArtifact = name;
      }
      core.info(
        `Safety backup: ${safety.path} (SHA-256 ${safety.checksum}${safetyArtifact ? `, artifact ${safetyArtifact}` : ''}).`,
      );
    } else if (replace) {
      core.warning(`safety-backup is false: ${database} is replaced without a backup of its current state.`);
    }

    if (replace) await clearSessions(inputs, database, safety);
    emitEvent('restore_start', {
      database,
      mode: inputs.mode,
      checksum,
      source: backup.origin,
      safety_backup: safety?.path ?? null,
    });
    if (!replace) await createDatabase(inputs.target, database, { template: 'template0' });
    try {
      await restoreBackup({
        target,
        backupPath: plainPath,
        format,
        pgRestore,
        psql,
        clean: replace,
        singleTransaction: true,
        noOwner: inputs.noOwner,
        tempDir: workDir,
        lockTimeoutMs: inputs.lockTimeoutMs,
      });
    } catch (error) {
      if (!replace)
        await dropDatabase(inputs.target, database).then(
          () => journal.cleanup(`dropped the half-restored database ${database}`),
          () => undefined,
        );
      const kept = safety
        ? ` The safety backup is ${safety.path}${safetyArtifact ? ` (artifact ${safetyArtifact})` : ''}.`
        : '';
      const lockWait = await lockHoldersExplanation(inputs, database, error);
      throw new ActionError(
        `The restore into ${database} ${cancellation.cancelled ? 'was stopped' : 'failed'}, and was rolled back (it runs in one transaction)${replace ? '' : '; the new database was dropped'}.${kept}\n${errorMessage(error)}${lockWait}`,
      );
    }
    journal.step(`Restored the backup into ${database}`);

    // 5. Proof: the restored database against the backup's own record.
    const state = await withClient(target, (client) => inspectDatabase(client));
    const comparison = compareWithBackup(state, {
      rowCounts: backup.metadata?.rowCounts ?? {},
      schemaVersion: expectedSchemaVersion(backup.metadata, state.schemaVersion),
    });
    const problems = describeComparison(comparison);
    if (
      replace &&
      backup.metadata &&
      backup.metadata.tables.length === 0 &&
      backup.metadata.excludeTables.length === 0
    ) {
      const dumped = new Set(backup.metadata.dumpedTables);
      const extra = Object.keys(state.rowCounts).filter((table) => !dumped.has(table));
      if (extra.length) {
        core.warning(
          `These tables are not in the backup and were left in place (pg_restore --clean only drops what the backup holds): ${extra.join(', ')}.`,
        );
      }
    }

    let previous: string | undefined;
    if (inputs.swap && problems.length === 0) {
      previous = await swapDatabases(
        inputs.target,
        inputs.target.database,
        database,
        compactTimestamp(now).toLowerCase(),
      );
      core.info(
        `Swapped: ${inputs.target.database} is now the restored database${previous ? `; the previous one is ${previous}` : ''}.`,
      );
    }
    const finalName = inputs.swap && problems.length === 0 ? inputs.target.database : database;
    const durationMs = Date.now() - started;
    setOutputs({
      database: finalName,
      checksum,
      'schema-version': state.schemaVersion ?? '',
      'initial-version': initialVersion,
      'final-version': state.schemaVersion,
      'row-counts': state.rowCounts,
      'foreign-keys': {
        checked: state.foreignKeys.length,
        violations: state.foreignKeys
          .filter((fk) => fk.violations > 0)
          .map((fk) => ({ constraint: fk.constraint, table: fk.table, rows: fk.violations })),
      },
      // A dump restores the state when it was taken: its age when the restore started is the RPO.
      'newest-restorable-at': backup.metadata?.createdAt,
      'safety-backup-path': safety?.path,
      'safety-backup-artifact-name': safetyArtifact,
      'previous-database': previous,
      'duration-ms': durationMs,
      'backup-source': backup.origin,
    });
    await writeSummary(
      restoreSummary({
        database: finalName,
        mode: inputs.mode,
        origin: backup.origin,
        checksum,
        metadata: backup.metadata,
        state,
        problems,
        safety,
        safetyArtifact,
        previous,
        durationMs,
      }),
    );
    if (problems.length > 0) {
      emitEvent('restore_failed', { database, problems });
      throw new ActionError(
        `The restored database ${database} does not match the backup:\n- ${problems.join('\n- ')}\n` +
          (replace
            ? `The safety backup is ${safety?.path ?? '(none taken)'}.`
            : `${database} is kept for inspection${inputs.swap ? ' and was not swapped in' : ''}.`),
      );
    }
    emitEvent('restore_complete', {
      database: finalName,
      mode: inputs.mode,
      checksum,
      schema_version: state.schemaVersion,
      tables: Object.keys(state.rowCounts).length,
      duration_ms: durationMs,
    });
    core.info(`Restore into ${finalName} complete and verified in ${formatDuration(durationMs)}.`);
  } finally {
    // Downloaded artifacts and decrypted plaintext never outlive the step.
    await rm(workDir, { recursive: true, force: true });
    workDirDone();
  }
}

import * as core from '@actions/core';
import type pg from 'pg';
import { archivedSegmentsIn } from '../../shared/backup/pgbackrest/archive.js';
import { PgBackRestHost, type PgBackRestSettings } from '../../shared/backup/pgbackrest/host.js';
import { STANZA_NO_BACKUPS, STANZA_OK, type BackupSet, type StanzaInfo } from '../../shared/backup/pgbackrest/info.js';
import { rejectInputsOfOtherMethod } from '../../shared/backup/method.js';
import { readPgBackRestSettings } from '../../shared/backup/pgbackrest/inputs.js';
import {
  archiveUpToNow,
  createRestorePoint,
  RESTORE_POINT_DESCRIPTION,
  RESTORE_POINT_NAME,
  type RestorePoint,
} from '../../shared/backup/pgbackrest/restore-point.js';
import { describeLiveServer, ensureStanzaOfServer } from '../../shared/backup/pgbackrest/server.js';
import { compactTimestamp, LABEL_DESCRIPTION, LABEL_PATTERN } from '../../shared/backup/names.js';
import { formatDuration } from '../../shared/duration.js';
import { ActionError, errorMessage } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { enumInput, stringInput } from '../../shared/inputs.js';
import { appendLedger } from '../../shared/ledger/ledger.js';
import { readLedgerPath } from '../../shared/ledger/inputs.js';
import { detectSchemaVersion } from '../../shared/migrations/detect-history.js';
import { setOutputs } from '../../shared/outputs.js';
import { connect, describeTarget, resolvePgTarget, type PgTarget } from '../../shared/postgres/connection.js';
import { code, writeSummary } from '../../shared/summary.js';
import { pgBackRestBackupSummary } from './pgbackrest-summary.js';

/**
 * backup-db with method "pgbackrest": for databases too big to dump before every rollback. A named
 * restore point is created (after a full/diff/incr backup when asked) and its WAL segment switched
 * out and found in the stanza's repository, which proves archiving end to end: whatever the
 * database's size, this takes well under a second, and restore-db can recover exactly to that point.
 */
export const BACKUP_TYPES = ['none', 'full', 'diff', 'incr'] as const;
/** Inputs only the dump method reads (those without defaults, so that setting them can be noticed). */
const DUMP_ONLY_INPUTS = [
  'tables',
  'exclude-tables',
  'encryption-key',
  'artifact-name',
  'output-dir',
  'pg-bin-dir',
] as const;

export interface PgBackRestBackupInputs {
  target: PgTarget;
  settings: ReturnType<typeof readPgBackRestSettings>;
  backupType: (typeof BACKUP_TYPES)[number];
  restorePoint: string;
  label: string;
  appVersion?: string;
  /** The deployment ledger on the host pgBackRest runs on (over SSH with ssh-host). */
  ledger?: string;
}

export function readPgBackRestBackupInputs(now: Date): PgBackRestBackupInputs {
  rejectInputsOfOtherMethod('pgbackrest', DUMP_ONLY_INPUTS);
  const target = resolvePgTarget(stringInput('database-url'));
  const label = stringInput('label', {
    default: 'default',
    pattern: LABEL_PATTERN,
    patternDescription: LABEL_DESCRIPTION,
  });
  const settings = readPgBackRestSettings();
  return {
    target,
    settings,
    backupType: enumInput('backup-type', BACKUP_TYPES, { default: 'none' }),
    restorePoint: stringInput('restore-point', {
      default: `${label.slice(0, 46)}-${compactTimestamp(now)}`,
      pattern: RESTORE_POINT_NAME,
      patternDescription: RESTORE_POINT_DESCRIPTION,
    }),
    label,
    appVersion: stringInput('app-version'),
    ledger: readLedgerPath(settings.ssh !== undefined, process.env.GITHUB_WORKSPACE || process.cwd()),
  };
}

export interface PgBackRestBackupResult {
  stanza: string;
  restorePoint: RestorePoint;
  backup: BackupSet;
  /** True when this step took `backup` (backup-type full/diff/incr). */
  backupTaken: boolean;
  archiveNewestWal: string;
  archivedSegment: string;
}

function newBackup(before: BackupSet[], after: BackupSet[]): BackupSet | undefined {
  const known = new Set(before.map((backup) => backup.label));
  return after.filter((backup) => !known.has(backup.label)).at(-1);
}

/**
 * The newest archived segment in the repository directory of `segment` (one small listing instead of
 * a second `pgbackrest info`, which reads the whole archive's range); undefined when `segment` itself
 * is not there.
 */
async function newestArchivedFrom(
  host: PgBackRestHost,
  info: StanzaInfo,
  segment: string,
): Promise<string | undefined> {
  const names = await archivedSegmentsIn(host, info, segment.slice(0, 16));
  return names.includes(segment) ? names.at(-1) : undefined;
}

/** pgBackRest's host and its stanza's info, read beside `pgbackrest version`. */
async function openStanza(settings: PgBackRestSettings): Promise<{ host: PgBackRestHost; before: StanzaInfo }> {
  const { host, value } = await PgBackRestHost.openWith(settings, (opened) => opened.info());
  return { host, before: value };
}

export async function runPgBackRestBackup(started: number): Promise<void> {
  const inputs = readPgBackRestBackupInputs(new Date(started));
  const { settings } = inputs;
  // pgBackRest (two programs started, over SSH perhaps) is reached while the server is asked: the
  // restore point's duration is mostly these round trips, not the point itself. Its errors are
  // reported after the server's, in the order the checks read.
  const stanza = openStanza(settings);
  stanza.catch(() => undefined);
  let host: PgBackRestHost | undefined;
  let client: pg.Client | undefined;
  try {
    client = await connect(inputs.target, { applicationName: 'rollback-actions backup-db' });
    const server = await describeLiveServer(client);
    core.info(
      `Connected to ${describeTarget(inputs.target)}: PostgreSQL ${server.version.text}, system identifier ${server.systemId}.`,
    );
    if (server.inRecovery)
      throw new ActionError(
        'The server is a standby (in recovery): restore points can only be created on the primary. Point database-url at the primary.',
      );
    // With no backup to take first, the schema version is read while pgBackRest answers (the
    // connection queues it), still before the point; otherwise just before the point.
    const schemaEarly = inputs.backupType === 'none' ? detectSchemaVersion(client) : undefined;
    schemaEarly?.catch(() => undefined);
    const opened = await stanza;
    host = opened.host;
    const { before } = opened;
    core.info(`pgBackRest ${host.version} on ${host.description}, stanza "${settings.stanza}".`);

    if (before.statusCode !== STANZA_OK && before.statusCode !== STANZA_NO_BACKUPS) {
      throw new ActionError(
        `Stanza "${settings.stanza}" is not usable: ${before.statusMessage} (pgbackrest info status ${before.statusCode}). No restore point was created.`,
      );
    }
    ensureStanzaOfServer(before, server);
    if (inputs.backupType === 'none' && before.backups.length === 0) {
      throw new ActionError(
        `Stanza "${settings.stanza}" has no backup yet, and a restore point can only be recovered to from a backup taken before it. No restore point was created.`,
        {
          hint: 'Set backup-type: full for this run (or take one with pgbackrest backup).',
        },
      );
    }
    emitEvent('backup_start', {
      database: inputs.target.database,
      label: inputs.label,
      method: 'pgbackrest',
      stanza: settings.stanza,
      server_version: server.version.text,
    });

    // With a backup to take, pgbackrest check proves archiving before the long backup runs. Without
    // one, the restore point's own segment, switched out and found in the repository below, proves
    // the same end to end, and a separate check (its own WAL switch and archive wait) only doubles
    // the time.
    if (inputs.backupType !== 'none') {
      try {
        await host.check();
      } catch (error) {
        throw new ActionError(
          `WAL archiving of stanza "${settings.stanza}" does not work, so a restore point could not be recovered to: ${errorMessage(error)}\nNo restore point was created.`,
        );
      }
    }

    let backup = before.backups.at(-1);
    let backupTaken = false;
    if (inputs.backupType !== 'none') {
      await host.pgbackrestLogged(`pgbackrest backup --type=${inputs.backupType}`, 'backup', [
        `--type=${inputs.backupType}`,
      ]);
      backup = newBackup(before.backups, (await host.info()).backups);
      if (!backup)
        throw new ActionError(
          `pgbackrest backup --type=${inputs.backupType} finished, but pgbackrest info lists no new backup.`,
        );
      backupTaken = true;
      core.info(`Backup ${backup.label} (${backup.type}) taken.`);
    }

    const schemaVersion = await (schemaEarly ?? detectSchemaVersion(client));
    const pointStarted = Date.now();
    const restorePoint = await createRestorePoint(client, inputs.restorePoint);
    const notArchived = (reason: string) =>
      new ActionError(
        `WAL archiving of stanza "${settings.stanza}" does not work: restore point "${restorePoint.name}" was created at ${restorePoint.lsn}, but its WAL segment ${restorePoint.segment} is not archived, so it cannot be recovered to. ${reason}\nNothing else was changed.`,
      );
    let archivedSegment: string;
    try {
      archivedSegment = await archiveUpToNow(client, settings.archiveTimeoutSeconds * 1000);
    } catch (error) {
      throw notArchived(errorMessage(error));
    }
    core.info(
      `Restore point "${restorePoint.name}" at ${restorePoint.lsn} (timeline ${restorePoint.timeline}), archived with segment ${archivedSegment} in ${formatDuration(Date.now() - pointStarted)}.`,
    );

    const newest = await newestArchivedFrom(host, before, restorePoint.segment);
    if (!newest) {
      throw notArchived(
        `The server reports ${archivedSegment} archived, but stanza "${settings.stanza}" does not hold it: archive_command does not push to this stanza's repository.`,
      );
    }
    const result: PgBackRestBackupResult = {
      stanza: settings.stanza,
      restorePoint,
      backup: backup!,
      backupTaken,
      archiveNewestWal: newest,
      archivedSegment,
    };
    const durationMs = Date.now() - started;
    const metadata = {
      method: 'pgbackrest',
      stanza: settings.stanza,
      label: inputs.label,
      appVersion: inputs.appVersion ?? null,
      database: inputs.target.database,
      source: describeTarget(inputs.target),
      serverVersion: server.version.text,
      systemId: server.systemId,
      restorePoint: {
        name: restorePoint.name,
        lsn: restorePoint.lsn,
        time: restorePoint.createdAt.toISOString(),
        timeline: restorePoint.timeline,
        segment: restorePoint.segment,
      },
      backup: {
        label: result.backup.label,
        type: result.backup.type,
        taken: backupTaken,
        finishedAt: result.backup.stoppedAt.toISOString(),
      },
      archive: { newestWal: newest },
      schemaVersion: schemaVersion
        ? {
            tool: schemaVersion.format,
            table: schemaVersion.table,
            version: schemaVersion.version,
            dirty: schemaVersion.dirty,
          }
        : null,
      durationMs,
    };
    setOutputs({
      'restore-point': restorePoint.name,
      'restore-point-lsn': restorePoint.lsn,
      'restore-point-time': restorePoint.createdAt.toISOString(),
      'backup-label': result.backup.label,
      'archive-newest-wal': newest,
      metadata,
      'schema-version': schemaVersion?.version ?? '',
      'duration-ms': durationMs,
    });
    await writeSummary(
      pgBackRestBackupSummary({
        inputs,
        result,
        server: server.version.text,
        pgBackRest: `${host.version} on ${code(host.description)}`,
        durationMs,
      }),
    );
    emitEvent('backup_complete', {
      database: inputs.target.database,
      label: inputs.label,
      method: 'pgbackrest',
      restore_point: restorePoint.name,
      restore_point_lsn: restorePoint.lsn,
      backup_label: result.backup.label,
      schema_version: schemaVersion?.version ?? null,
      duration_ms: durationMs,
    });
    if (inputs.ledger) await recordRestorePoint(inputs, host, result, schemaVersion?.version ?? undefined);
    core.info(`Restore point ready in ${formatDuration(durationMs)}.`);
  } finally {
    await client?.end().catch(() => undefined);
    await (host ?? (await stanza.then((opened) => opened.host).catch(() => undefined)))?.close();
  }
}

/**
 * The restore point as the ledger's backup entry, on the host pgBackRest runs on (its own user, not
 * pgbackrest-via's): what rollback.yml recovers to by name, findable when GitHub is not. A ledger
 * that cannot be written is a warning: the restore point exists either way.
 */
async function recordRestorePoint(
  inputs: PgBackRestBackupInputs,
  host: PgBackRestHost,
  result: PgBackRestBackupResult,
  schemaVersion: string | undefined,
): Promise<void> {
  const { restorePoint } = result;
  await appendLedger(
    { path: inputs.ledger!, executor: host.direct },
    {
      type: 'backup',
      label: inputs.label,
      appVersion: inputs.appVersion,
      schemaVersion,
      location: `pgbackrest stanza ${result.stanza} on ${host.direct.description}: restore point ${restorePoint.name} at ${restorePoint.lsn}`,
      database: inputs.target.database,
      method: 'pgbackrest',
      restorePoint: {
        name: restorePoint.name,
        lsn: restorePoint.lsn,
        time: restorePoint.createdAt.toISOString(),
        timeline: restorePoint.timeline,
      },
      stanza: result.stanza,
      backupLabel: result.backup.label,
    },
  ).catch((error: unknown) => core.warning(errorMessage(error)));
}

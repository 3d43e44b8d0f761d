import * as core from '@actions/core';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspectDatabase, type RestoredState } from '../../shared/backup/inspect.js';
import { listArchivedSegments, newestSegment } from '../../shared/backup/pgbackrest/archive.js';
import { serverRunsOn, waitUntilPromoted, type RecoveredServer } from '../../shared/backup/pgbackrest/cluster.js';
import { PgBackRestHost } from '../../shared/backup/pgbackrest/host.js';
import { STANZA_OK, type StanzaInfo } from '../../shared/backup/pgbackrest/info.js';
import {
  earlyPlan,
  planRecovery,
  restoreOptions,
  sameRestore,
  type RecoveryPlan,
} from '../../shared/backup/pgbackrest/recovery.js';
import { archiveUpToNow, createRestorePoint, type RestorePoint } from '../../shared/backup/pgbackrest/restore-point.js';
import { describeLiveServer, ensureStanzaOfServer, type LiveServer } from '../../shared/backup/pgbackrest/server.js';
import {
  freeLocalPort,
  restoreSideCluster,
  retireSideCluster,
  sideClusterUrl,
  type SideCluster,
} from '../../shared/backup/pgbackrest/side-cluster.js';
import { compactTimestamp } from '../../shared/backup/names.js';
import { restoreTables, type RestoredTable } from '../../shared/backup/tables.js';
import { findPgTool } from '../../shared/postgres/pg-tools.js';
import { formatDuration } from '../../shared/duration.js';
import { ActionError, InputError, errorMessage } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { setOutputs } from '../../shared/outputs.js';
import { connect, withClient, type PgTarget } from '../../shared/postgres/connection.js';
import { code, writeSummary } from '../../shared/summary.js';
import { readPgBackRestRestoreInputs, type PgBackRestRestoreInputs } from './pgbackrest-inputs.js';
import { pgBackRestRestoreSummary } from './pgbackrest-summary.js';

/**
 * restore-db with method "pgbackrest": point-in-time recovery of the whole cluster with pgBackRest,
 * into a side cluster (a new data directory on a side port, beside the live server) or in place
 * (the server stopped and started again by the given commands). Every check that can refuse runs
 * before anything is stopped, started or overwritten: the stanza and its check, the backup set, the
 * restore point found in the archived WAL, a server that is still running. A side cluster's files
 * are restored into their new directory while the stanza's check runs (it takes a WAL switch and
 * its archiving, a second or more) and, when the restore point's LSN is given, while the point is
 * looked up in the archive; a failed check or lookup stops that restore and removes the directory.
 */
export interface PgBackRestRestoreResult {
  plan: RecoveryPlan;
  recovered: RecoveredServer;
  state: RestoredState;
  /** The restored database (the side cluster's, or the live one after an in-place restore). */
  restored: PgTarget;
  side?: SideCluster;
  safetyPoint?: RestorePoint;
  /** From the start of pgbackrest restore to the recovered server answering: the restore's RTO. */
  restoreMs: number;
  /** When the newest WAL in the archive was stored, before this restore: what RPO is measured from. */
  newestRestorableAt?: Date;
  /** Partial restore: the tables copied from the side cluster into the live database. */
  tables?: RestoredTable[];
}

/** Partial restore from the recovered side cluster into the live database (the runner's pg_dump and pg_restore). */
async function copyTablesBack(
  inputs: PgBackRestRestoreInputs,
  side: PgTarget,
  major: string,
): Promise<RestoredTable[]> {
  const workDir = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'rollback-tables-'));
  try {
    const [pgDump, pgRestore, psql] = await Promise.all(
      (['pg_dump', 'pg_restore', 'psql'] as const).map((tool) => findPgTool(tool, Number(major), inputs.pgBinDir)),
    );
    return await restoreTables({
      source: { kind: 'database', target: side },
      live: inputs.target,
      tables: inputs.tables.tables,
      content: inputs.tables.content,
      intoSchema: inputs.tables.intoSchema,
      noOwner: inputs.noOwner,
      pgDump,
      pgRestore,
      psql,
      workDir,
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

const ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);

/** The live server, when it answers; a restore in place may find it already stopped. */
async function openLive(target: PgTarget): Promise<{ client?: pg.Client; server?: LiveServer; unreachable?: string }> {
  let client: pg.Client | undefined;
  try {
    client = await connect(target, { applicationName: 'rollback-actions restore-db', connectTimeoutMs: 10_000 });
    return { client, server: await describeLiveServer(client) };
  } catch (error) {
    await client?.end().catch(() => undefined);
    return { unreachable: errorMessage(error) };
  }
}

async function waitUntilStopped(
  host: PgBackRestHost,
  pgCtl: string,
  dataDirectory: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await serverRunsOn(host, pgCtl, dataDirectory))) return true;
    await sleep(250);
  }
  return false;
}

function sideDirectoryFor(inputs: PgBackRestRestoreInputs, live: LiveServer | undefined, now: Date): string {
  if (inputs.sideDataDirectory) return inputs.sideDataDirectory;
  if (!live?.files) {
    throw new InputError(
      'side-data-dir',
      "is required here: the live server's data_directory could not be read (it needs a superuser or pg_read_all_settings) to put the side cluster beside it.",
    );
  }
  return `${live.files.dataDirectory.replace(/\/+$/, '')}.restore-${compactTimestamp(now).toLowerCase()}`;
}

export async function runPgBackRestRestore(started: number): Promise<void> {
  const inputs = readPgBackRestRestoreInputs();
  const now = new Date(started);
  // pgBackRest's host (SSH, `pgbackrest version`) and the live server are reached at the same time.
  const liveOpening: Promise<Awaited<ReturnType<typeof openLive>>> = inputs.removeSideCluster
    ? Promise.resolve({})
    : openLive(inputs.target);
  // The stanza's info is read beside `pgbackrest version` (not needed to remove a side cluster).
  const { host, value: info } = await PgBackRestHost.openWith(inputs.settings, (opened) =>
    inputs.removeSideCluster ? Promise.resolve(undefined) : opened.info(),
  ).catch(async (error: unknown) => {
    // openLive never rejects; its connection is closed before the host's error is reported.
    await (await liveOpening).client?.end().catch(() => undefined);
    throw error;
  });
  const live = await liveOpening;
  try {
    core.info(`pgBackRest ${host.version} on ${host.description}, stanza "${inputs.settings.stanza}".`);
    if (inputs.removeSideCluster) {
      const { stdout } = await host.run('cat', ['--', `${inputs.removeSideCluster}/PG_VERSION`]);
      await retireSideCluster(host, inputs.removeSideCluster, stdout.trim(), true);
      setOutputs({ 'side-data-dir': inputs.removeSideCluster, 'duration-ms': Date.now() - started });
      return;
    }
    const result = await restore(inputs, host, info!, live, now);
    const durationMs = Date.now() - started;
    const database = inputs.target.database;
    setOutputs({
      database,
      'schema-version': result.state.schemaVersion ?? '',
      'row-counts': result.state.rowCounts,
      'estimated-row-counts': result.state.estimatedRowCounts,
      'foreign-keys': {
        checked: result.state.foreignKeys.length,
        violations: result.state.foreignKeys
          .filter((fk) => fk.violations > 0)
          .map((fk) => ({ constraint: fk.constraint, table: fk.table, rows: fk.violations })),
      },
      'recovery-target': result.plan.description,
      'backup-label': result.plan.backup.label,
      timeline: result.recovered.timeline,
      'side-data-dir': result.side && inputs.sideCluster !== 'remove' ? result.side.dataDirectory : undefined,
      'side-port': result.side && inputs.sideCluster === 'keep' ? result.side.port : undefined,
      'side-database-url':
        result.side && inputs.sideCluster === 'keep' ? sideClusterUrl(result.side.target) : undefined,
      'safety-restore-point': result.safetyPoint?.name,
      'restored-tables': result.tables,
      'restore-duration-ms': result.restoreMs,
      'newest-restorable-at': result.newestRestorableAt?.toISOString(),
      'duration-ms': durationMs,
    });
    const problems = result.state.foreignKeys
      .filter((fk) => fk.validated && fk.violations > 0)
      .map(
        (fk) =>
          `foreign key ${fk.constraint} on ${fk.table} -> ${fk.references}: ${fk.violations} row(s) reference nothing`,
      );
    await writeSummary(
      pgBackRestRestoreSummary({
        inputs,
        result,
        problems,
        durationMs,
        pgBackRest: `${host.version} on ${code(host.description)}`,
      }),
    );
    if (problems.length) {
      emitEvent('restore_failed', { database, problems });
      throw new ActionError(`The recovered database does not hold together:\n- ${problems.join('\n- ')}`);
    }
    emitEvent('restore_complete', {
      database,
      mode: inputs.mode,
      method: 'pgbackrest',
      target: result.plan.description,
      backup_label: result.plan.backup.label,
      restore_ms: result.restoreMs,
      duration_ms: durationMs,
    });
    core.info(`Recovered to ${result.plan.description} in ${formatDuration(durationMs)}.`);
  } finally {
    await live.client?.end().catch(() => undefined);
    await host.close();
  }
}

/** The archive's segments, and the recovery plan from them: read only, beside the stanza's check. */
async function planAfterCheck(
  inputs: PgBackRestRestoreInputs,
  host: PgBackRestHost,
  info: StanzaInfo,
  major: string,
  segmentSize: number | undefined,
  checkStarted: Date,
): Promise<{ plan: RecoveryPlan; newestArchivedAt?: Date; newestRestorableAt?: Date }> {
  // The scratch directory, pg_waldump (for a restore point) and pg_ctl (for a side cluster), found
  // once per step, are looked for while the archive is listed: round trips to where pgBackRest runs at once.
  const scratching = host.scratchDirectory();
  if (inputs.recovery.kind === 'name') host.serverProgram('pg_waldump', major).catch(() => undefined);
  if (inputs.mode !== 'replace') host.serverProgram('pg_ctl', major).catch(() => undefined);
  const segments = await listArchivedSegments(host, info, segmentSize ?? 16 * 1024 * 1024).catch(
    async (error: unknown) => {
      await (await scratching.catch(() => undefined))?.remove();
      throw error;
    },
  );
  const newestArchivedAt = newestSegment(segments)?.archivedAt;
  // The RPO is measured from the newest WAL archived before this restore's own check pushed the
  // current segment (the repository keeps whole seconds): what a restore could reach without it.
  const beforeCheck = Math.floor(checkStarted.getTime() / 1000) * 1000;
  const newestRestorableAt = newestSegment(
    segments.filter((segment) => segment.archivedAt.getTime() < beforeCheck),
  )?.archivedAt;
  const scratch = await scratching;
  let plan: RecoveryPlan;
  try {
    plan = await planRecovery(
      inputs.recovery,
      inputs.backupSet,
      {
        host,
        info,
        segments,
        segmentSize: segmentSize ?? 16 * 1024 * 1024,
        scratchDir: scratch.path,
        inputs: { target: inputs.recovery.kind === 'time' ? 'target-time' : 'restore-point', backupSet: 'backup-set' },
      },
      major,
    );
  } finally {
    await scratch.remove();
  }
  return { plan, newestArchivedAt, newestRestorableAt };
}

/** A planned restore, or (early) one that starts before its plan is read and is confirmed by it. */
interface SideRestoreOrder {
  planning: Promise<Awaited<ReturnType<typeof planAfterCheck>>>;
  /** The stanza's check, which must pass before the side cluster starts. */
  checking: Promise<void>;
  early?: RecoveryPlan;
}

/** The plan read from the archive differs from the early one: the restore starts again from it. */
class PlanChanged extends Error {
  constructor(readonly plan: RecoveryPlan) {
    super(`The plan read from the archive is not the one the restore started from: ${plan.description}.`);
  }
}

/** Into a side cluster: restore, start, recover, inspect (and copy tables back), then retire it as asked. */
async function restoreBeside(
  inputs: PgBackRestRestoreInputs,
  host: PgBackRestHost,
  live: Awaited<ReturnType<typeof openLive>>,
  major: string,
  now: Date,
  order: SideRestoreOrder,
): Promise<PgBackRestRestoreResult> {
  const { planning, checking, early } = order;
  // Whatever else fails first, a failed check, and then a failed plan, is the error to report.
  const inOrder = async (error: unknown): Promise<never> => {
    await checking;
    if (!(error instanceof PlanChanged)) await planning;
    throw error;
  };
  const port = inputs.sidePort ?? (host.executor.remote ? undefined : await freeLocalPort());
  if (port === undefined)
    throw new InputError(
      'side-port',
      'is required when pgBackRest runs on another host (ssh-host): a port free there for the side cluster.',
    );
  const side = { ...inputs.target, port };
  const request = {
    dataDirectory: sideDirectoryFor(inputs, live.server, now),
    port,
    major,
    timeoutMs: inputs.recoveryTimeoutMs,
    target: side,
    liveSettings: live.server?.files,
  };
  const restoreStarted = Date.now();
  let restored: Awaited<ReturnType<typeof restoreSideCluster>> | undefined;
  if (early) {
    const confirmed = planning.then(({ plan }) => {
      core.info(`Recovery plan: ${plan.description}.`);
      if (!sameRestore(plan, early)) throw new PlanChanged(plan);
    });
    const startsAfter = Promise.all([checking, confirmed]).then(() => undefined);
    startsAfter.catch(() => undefined);
    restored = await restoreSideCluster(host, early, { ...request, startsAfter }).catch(async (error: unknown) => {
      if (!(error instanceof PlanChanged)) return await inOrder(error);
      core.info(`${error.message} The restore from ${early.backup.label} was stopped and removed; restoring again.`);
      return undefined;
    });
  }
  const { plan, newestRestorableAt } = await planning;
  restored ??= await restoreSideCluster(host, plan, { ...request, startsAfter: checking }).catch(inOrder);
  const { side: cluster, recovered } = restored;
  const restoreMs = Date.now() - restoreStarted;
  core.info(
    `Side cluster ${cluster.dataDirectory} recovered on port ${port} (timeline ${recovered.timeline}) in ${formatDuration(restoreMs)}.`,
  );
  try {
    const state = await withClient(side, (client) =>
      inspectDatabase(client, { rowCountMaxBytes: inputs.rowCountMaxBytes }),
    );
    const tables = inputs.tables.tables.length > 0 ? await copyTablesBack(inputs, side, major) : undefined;
    return { plan, recovered, state, restored: side, side: cluster, restoreMs, newestRestorableAt, tables };
  } finally {
    if (inputs.sideCluster !== 'keep')
      await retireSideCluster(host, cluster.dataDirectory, major, inputs.sideCluster === 'remove', cluster);
  }
}

async function restore(
  inputs: PgBackRestRestoreInputs,
  host: PgBackRestHost,
  info: StanzaInfo,
  live: Awaited<ReturnType<typeof openLive>>,
  now: Date,
): Promise<PgBackRestRestoreResult> {
  const replace = inputs.mode === 'replace';
  if (live.server) ensureStanzaOfServer(info, live.server);
  const major = info.databaseVersion ?? String(live.server?.version.major ?? '');
  if (!major)
    throw new ActionError(
      `Stanza "${info.name}" has no database yet (pgbackrest info: ${info.statusMessage}). Nothing was restored.`,
    );
  const segmentSize = live.server?.segmentSize ?? undefined;

  // In place: the data directory, and whether the server on it can be (or already is) stopped.
  let dataDirectory: string | undefined;
  let pgCtl: string | undefined;
  if (replace) {
    dataDirectory = inputs.dataDirectory ?? live.server?.files?.dataDirectory;
    if (!dataDirectory)
      throw new InputError(
        'data-directory',
        `is required with mode "replace" when the server's data_directory cannot be read (${live.unreachable ?? 'reading it needs a superuser or pg_read_all_settings'}).`,
      );
    pgCtl = await host.serverProgram('pg_ctl', major);
    const running = Boolean(live.client) || (await serverRunsOn(host, pgCtl, dataDirectory));
    if (running && !inputs.stopCommand) {
      throw new ActionError(
        `The server on ${dataDirectory} is running, and mode "replace" restores only over a stopped server. Nothing was restored.`,
        {
          hint: 'Give stop-command (e.g. systemctl stop postgresql@16-main) so that restore-db stops it after its checks, or stop it yourself first.',
        },
      );
    }
    if (!running && inputs.safetyBackup) {
      throw new ActionError(
        `The server on ${dataDirectory} is not running, so no safety restore point of its current state can be made before it is overwritten. Nothing was restored.`,
        {
          hint: 'Start it, or set safety-backup: false to restore over it without one.',
        },
      );
    }
  }

  // The stanza's own check, while the live server answers; otherwise its info must be clean. The
  // check (a WAL switch, and a wait until that segment is archived) runs while the archive is read
  // and the recovery planned, which change nothing, and, into a side cluster, while its files are
  // restored; nothing is overwritten or started before it has passed, and its failure is the one
  // reported.
  const checkStarted = new Date();
  let checking: Promise<void> = Promise.resolve();
  if (live.client) {
    checking = host.check({ quiet: !replace }).then(
      () => {
        if (!replace)
          core.info(
            `pgbackrest check passed (stanza "${info.name}") in ${formatDuration(Date.now() - checkStarted.getTime())}.`,
          );
      },
      (error: unknown) => {
        throw new ActionError(
          `Stanza "${info.name}" fails its check, so what it holds cannot be trusted: ${errorMessage(error)}\nNothing was restored.`,
        );
      },
    );
    checking.catch(() => undefined);
  } else if (info.statusCode !== STANZA_OK) {
    throw new ActionError(`Stanza "${info.name}" is not usable: ${info.statusMessage}. Nothing was restored.`);
  } else {
    core.warning(`The live server does not answer (${live.unreachable}); pgbackrest check needs it and was skipped.`);
  }
  // Whatever else fails while the check still runs, a failed check is the error to report.
  const checkedFirst = <T>(work: () => Promise<T>): Promise<T> =>
    work().catch(async (error: unknown) => {
      await checking;
      throw error;
    });
  const planning = checkedFirst(async () => {
    const planned = await planAfterCheck(inputs, host, info, major, segmentSize, checkStarted);
    if (replace) await checking;
    return planned;
  });
  planning.catch(() => undefined);
  // Into a side cluster, a restore to a named point whose LSN is given starts at once from the plan
  // that LSN implies; the plan read from the archive (as long as the check, or longer) confirms it
  // before the cluster starts, or the restore is stopped and started again from that plan.
  const early = replace ? undefined : earlyPlan(inputs.recovery, inputs.backupSet, info);
  if (early) return await restoreBeside(inputs, host, live, major, now, { early, planning, checking });

  const { plan, newestArchivedAt, newestRestorableAt } = await planning;
  core.info(`Recovery plan: ${plan.description}.`);
  // Recovery to a time stops at the first commit after it: that commit must be in the archive. The
  // segment the check above pushed holds none (a WAL switch is no commit), so a target after the
  // WAL archived before it gets one (archiveUpToNow commits a transaction, then archives it).
  if (plan.target.kind === 'time' && (!newestRestorableAt || plan.target.time > newestRestorableAt)) {
    const client = live.client;
    if (!client)
      throw new InputError(
        'target-time',
        `is after the newest archived WAL (${newestArchivedAt?.toISOString() ?? 'none'}), and the live server does not answer to archive more. Nothing was restored.`,
      );
    await checkedFirst(() => archiveUpToNow(client, inputs.settings.archiveTimeoutSeconds * 1000));
  }

  if (!replace) return await restoreBeside(inputs, host, live, major, now, { planning, checking });

  // In place: a safety restore point of the current state, then stop, restore, start.
  let safetyPoint: RestorePoint | undefined;
  if (inputs.safetyBackup && live.client) {
    safetyPoint = await createRestorePoint(live.client, `before-restore-${compactTimestamp(now)}`);
    await archiveUpToNow(live.client, inputs.settings.archiveTimeoutSeconds * 1000);
    core.info(
      `Safety restore point "${safetyPoint.name}" at ${safetyPoint.lsn} (timeline ${safetyPoint.timeline}): the state before this restore can be recovered to.`,
    );
  } else if (!inputs.safetyBackup) {
    core.warning(
      `safety-backup is false: the cluster on ${dataDirectory} is replaced without a restore point of its current state.`,
    );
  }
  await live.client?.end().catch(() => undefined);
  live.client = undefined;
  emitEvent('restore_start', {
    database: inputs.target.database,
    mode: 'replace',
    method: 'pgbackrest',
    target: plan.description,
    safety_restore_point: safetyPoint?.name ?? null,
  });
  if (inputs.stopCommand && (await serverRunsOn(host, pgCtl!, dataDirectory!))) {
    core.info(`Stopping the server: ${inputs.stopCommand.join(' ')}`);
    await host.direct.run(inputs.stopCommand[0], inputs.stopCommand.slice(1), { timeoutMs: 300_000 });
    if (!(await waitUntilStopped(host, pgCtl!, dataDirectory!, 60_000))) {
      throw new ActionError(
        `The server on ${dataDirectory} is still running after stop-command; restoring over a running server is refused. Nothing was restored.`,
      );
    }
  }
  const restoreStarted = Date.now();
  await host.pgbackrestLogged(`pgbackrest restore --delta into ${dataDirectory} (${plan.description})`, 'restore', [
    ...restoreOptions(plan),
    `--pg1-path=${dataDirectory}`,
    '--delta',
  ]);
  core.info(`Starting the server: ${inputs.startCommand!.join(' ')}`);
  await host.direct.run(inputs.startCommand![0], inputs.startCommand!.slice(1), {
    timeoutMs: inputs.recoveryTimeoutMs,
  });
  const safetyNote = safetyPoint
    ? ` The state before this restore is restore point "${safetyPoint.name}" on timeline ${safetyPoint.timeline}.`
    : '';
  const recovered = await waitUntilPromoted(
    inputs.target,
    inputs.recoveryTimeoutMs,
    () => serverRunsOn(host, pgCtl!, dataDirectory!),
    async () =>
      `See the server's log (pg_ctl status: ${(await host.run(pgCtl!, ['status', '-D', dataDirectory!], { okExitCodes: ANY_EXIT })).stdout.trim()}).${safetyNote}`,
  ).catch((error: unknown) => {
    throw new ActionError(`${errorMessage(error)}${safetyNote}`);
  });
  const restoreMs = Date.now() - restoreStarted;
  core.info(
    `Recovered in place to ${plan.description}: timeline ${recovered.timeline}, in ${formatDuration(restoreMs)}.`,
  );
  const state = await withClient(inputs.target, (client) =>
    inspectDatabase(client, { rowCountMaxBytes: inputs.rowCountMaxBytes }),
  );
  return { plan, recovered, state, restored: inputs.target, safetyPoint, restoreMs, newestRestorableAt };
}

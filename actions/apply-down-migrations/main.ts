import * as core from '@actions/core';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { proveBackup, type BackupProof } from '../../shared/backup/proof.js';
import { cancellation, journal } from '../../shared/cancellation.js';
import { formatDuration } from '../../shared/duration.js';
import { ActionError, InputError } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { loadMigrations } from '../../shared/migrations/formats.js';
import { readHistory, type HistoryState } from '../../shared/migrations/history.js';
import { migrationTool } from '../../shared/migrations/tools/index.js';
import { acquireMigrationLock, migrationLockKeys, type HeldLock } from '../../shared/migrations/lock.js';
import { checkDownScripts } from '../../shared/migrations/down-checks.js';
import { downIdentity, planDigest, verifyPlanDigest } from '../../shared/migrations/plan-digest.js';
import {
  describeFailure,
  MigrationPlanError,
  planDown,
  readCheckedHistory,
  renderPlanSql,
  runPlan,
  type MigrationFailure,
  type MigrationOutcome,
  type MigrationPlan,
} from '../../shared/migrations/runner.js';
import { directorySource } from '../../shared/migrations/sources.js';
import type { Migration } from '../../shared/migrations/types.js';
import { verifyAgainstMigrations, type VerifyResult } from '../../shared/migrations/verify.js';
import { connect, describeTarget, serverVersion } from '../../shared/postgres/connection.js';
import { tableRowCounts } from '../../shared/postgres/databases.js';
import { setOutputs } from '../../shared/outputs.js';
import { writeSummary } from '../../shared/summary.js';
import { readApplyDownInputs, type ApplyDownInputs } from './inputs.js';
import { renderSummary, type SummaryFacts } from './summary.js';
import { selectVersionsToRevert, type DownSelection } from './target.js';
import { runAlembic } from './alembic.js';

/**
 * Reverts migrations to a target, newest first: validated inputs and files, then the migration
 * lock, then the history read and the plan checked as a whole, and only then the first change.
 */
export async function run(): Promise<void> {
  const started = Date.now();
  const read = readApplyDownInputs();
  if (read.format === 'alembic') {
    await runAlembic(read, await checkBackup(read.dryRun, read.backupChecksum, read.target.database), started);
    return;
  }
  const inputs = read;
  // Files first: a missing directory or a duplicate version is found without touching the database.
  const migrations = await loadMigrations(directorySource(inputs.migrationsDir), inputs.format);
  const unknownAllowed = inputs.allowEmptyDown.filter(
    (version) => !migrations.some((migration) => migration.version === version),
  );
  if (unknownAllowed.length)
    core.warning(
      `allow-empty-down lists ${unknownAllowed.join(', ')}, which ${unknownAllowed.length === 1 ? 'is not a migration' : 'are not migrations'} in ${inputs.migrationsDir}.`,
    );

  const proof = await checkBackup(inputs.dryRun, inputs.backupChecksum, inputs.target.database);

  const client = await connect(inputs.target, { applicationName: 'rollback-actions apply-down-migrations' });
  journal.step(`Connected to ${describeTarget(inputs.target)}`);
  let lock: HeldLock | undefined;
  try {
    await revert(inputs, migrations, client, started, proof, (held) => (lock = held));
  } finally {
    await lock?.release();
    await client.end().catch(() => undefined);
  }
}

/**
 * The history to plan from: the table's, or, for a history the suite keeps and has not started
 * (sql-files), the stated version with the statements that record it before the first revert.
 */
function startingHistory(
  inputs: ApplyDownInputs,
  migrations: readonly Migration[],
  recorded: HistoryState,
): { history: HistoryState; setup: string[] } {
  const stated = inputs.statedVersion;
  const tool = migrationTool(inputs.format);
  if (!stated || !tool.statedHistory) return { history: recorded, setup: [] };
  const version = stated.version === '0' ? null : tool.normalizeVersion(stated.version);
  if (recorded.exists) {
    if (recorded.current !== version)
      throw new InputError(
        stated.input.split(' ')[0],
        `says version ${version ?? 'none'}, but ${inputs.historyTable.schema}.${inputs.historyTable.table} records ${recorded.current ?? 'none'}. Nothing was changed.`,
        {
          hint: 'The history table is authoritative once it exists: leave the stated version out, or correct the table.',
        },
      );
    return { history: recorded, setup: [] };
  }
  if (version !== null && !migrations.some((migration) => migration.version === version))
    throw new InputError(
      stated.input.split(' ')[0],
      `says version ${version}, but ${inputs.migrationsDir} has no migration ${version}. Nothing was changed.`,
    );
  const history: HistoryState = {
    exists: false,
    applied: version === null ? [] : [version],
    current: version,
    dirty: false,
  };
  return { history, setup: tool.statedHistory.initialise(inputs.historyTable, version) };
}

/** The backup must be real before anything else: a checksum's shape proves nothing. */
async function checkBackup(
  dryRun: boolean,
  checksum: string | undefined,
  database: string,
): Promise<BackupProof | undefined> {
  if (dryRun || !checksum) return undefined;
  const proof = await proveBackup(checksum, database);
  core.info(`Backup verified: ${proof.where}, taken ${proof.metadata.createdAt}, ${proof.metadata.size} bytes.`);
  journal.step(`Found the backup with checksum ${checksum.slice(0, 16)}…: ${proof.where}`);
  return proof;
}

async function revert(
  inputs: ApplyDownInputs,
  migrations: Awaited<ReturnType<typeof loadMigrations>>,
  client: pg.Client,
  started: number,
  proof: BackupProof | undefined,
  onLock: (lock: HeldLock) => void,
): Promise<void> {
  const table = inputs.historyTable;
  const tableName = `${table.schema}.${table.table}`;
  const server = await serverVersion(client);
  const keys = migrationLockKeys(inputs.target.database, table, inputs.format);
  const settings = { lockTimeoutMs: inputs.lockTimeoutMs, statementTimeoutMs: inputs.statementTimeoutMs };
  const backup = proof
    ? `backup-db checksum ${inputs.backupChecksum!.replace(/^sha256:/, '').slice(0, 16)}…, found in ${proof.where}`
    : inputs.skipBackupCheck
      ? 'none: skip-backup-check: true'
      : 'not needed: dry run';

  // A dry run changes nothing and takes no lock; a real run plans under the lock, from the history
  // as it is once no other migration run can change it.
  let lock: HeldLock | undefined;
  if (!inputs.dryRun) {
    core.info(
      `Taking the migration lock (advisory lock ${keys.map((key) => key.id).join(', ')}; lock-timeout ${formatDuration(inputs.lockTimeoutMs)})...`,
    );
    lock = await acquireMigrationLock(client, keys, inputs.lockTimeoutMs, { onWait: (message) => core.info(message) });
    onLock(lock);
    journal.step(`Took the migration lock (advisory lock ${keys.map((key) => key.id).join(', ')})`);
    if (lock.waitedMs >= 250) core.info(`Waited ${formatDuration(lock.waitedMs)} for the migration lock.`);
  }

  // A missing table passes readCheckedHistory's checks (no shape to check, never dirty) and reads as !exists.
  const recorded = await readCheckedHistory(client, inputs.format, table, migrations, inputs.migrationsDir);
  const { history, setup } = startingHistory(inputs, migrations, recorded);
  if (!history.exists && setup.length === 0) {
    throw new ActionError(
      `The history table ${tableName} does not exist in database "${inputs.target.database}": no ${inputs.format} migration has been recorded there. Nothing was changed.`,
      {
        hint: migrationTool(inputs.format).statedHistory
          ? 'On first use, say which version the database is at: current-version, or compat-file with app-version.'
          : 'Check database-url, history-table and migrations-format.',
      },
    );
  }
  const selection = selectVersionsToRevert(
    inputs.format,
    migrations,
    history,
    inputs.downTarget,
    inputs.migrationsDir,
    { includeNewer: inputs.expectedPlanDigest !== undefined },
  );
  const plan = await planDown(migrations, history, selection.versions, {
    format: inputs.format,
    table,
    serverVersionNum: server.num,
    allowEmptyDown: inputs.allowEmptyDown,
    migrationsDir: inputs.migrationsDir,
  });
  plan.setup = setup;
  const digest = await checkPlan(inputs, migrations, selection, plan, client);
  const stated = migrationTool(inputs.format).statedHistory;
  if (stated) {
    const problems = await stated.check(client, migrations, history.current, selection.versions);
    if (problems.length > 0)
      throw new MigrationPlanError(
        [
          `The database is not at version ${history.current ?? 'none'}${inputs.statedVersion ? ` (${inputs.statedVersion.input})` : ` (${tableName})`}:`,
          ...problems,
        ],
        'Nothing was changed. Find the version the database is really at (compare its schema with the up files) and state that one.',
      );
  }
  const sql = renderPlanSql(plan, settings, keys, [
    `apply-down-migrations on ${inputs.target.database}, generated ${new Date().toISOString()}`,
  ]);
  // The whole script also goes to a file: step outputs and job summaries are capped at 1 MiB.
  const sqlFile = path.join(
    process.env.RUNNER_TEMP || os.tmpdir(),
    `apply-down-migrations-${inputs.target.database.replace(/[^A-Za-z0-9_-]/g, '_')}-${Date.now()}.sql`,
  );
  writeFileSync(sqlFile, sql);
  const sqlOutput = capped(sql, OUTPUT_LIMIT, sqlFile);
  const planned = plan.migrations.map((step) => ({
    version: step.version,
    name: step.name,
    file: step.file ?? null,
    transactional: step.transactional,
  }));

  const facts: SummaryFacts = {
    database: describeTarget(inputs.target),
    format: inputs.format,
    historyTable: tableName,
    dryRun: inputs.dryRun,
    initialVersion: history.current,
    finalVersion: plan.toVersion,
    plan,
    completed: [],
    alreadyReverted: selection.alreadyReverted,
    nothingToDo: plan.migrations.length === 0 ? (selection.nothingToDo ?? 'nothing to revert') : undefined,
    backup,
    lockKeys: keys,
    lockWaitedMs: lock?.waitedMs,
    sql: capped(sql, SUMMARY_SQL_LIMIT, sqlFile),
    durationMs: 0,
  };

  logPlan(plan, selection.alreadyReverted, facts.nothingToDo);
  if (inputs.dryRun) {
    core.startGroup('SQL a real run would execute');
    core.info(sql);
    core.endGroup();
    if (inputs.verify) core.notice('verify runs only after a real run; this dry run changed nothing to verify.');
    facts.durationMs = Date.now() - started;
    setOutputs({
      reverted: [],
      planned,
      'plan-digest': digest,
      'final-version': plan.toVersion,
      'initial-version': history.current,
      'dry-run-sql': sqlOutput,
      'sql-file': sqlFile,
      failure: '',
      verified: '',
      'duration-ms': facts.durationMs,
    });
    await writeSummary(renderSummary(facts));
    return;
  }

  const rowCountsBefore = inputs.verify && plan.migrations.length > 0 ? await tableRowCounts(client) : undefined;
  emitEvent('down_migrations_start', {
    database: inputs.target.database,
    format: inputs.format,
    history_table: tableName,
    from_version: history.current,
    to_version: plan.toVersion,
    versions: plan.migrations.map((step) => step.version),
    backup_checksum: inputs.backupChecksum,
    backup_check_skipped: !inputs.backupChecksum && inputs.skipBackupCheck,
  });
  await client.query(`SET statement_timeout = ${inputs.statementTimeoutMs}`);
  const result = await runPlan(client, plan, {
    signal: cancellation.signal,
    onStart: (step) =>
      core.info(
        `Reverting ${step.version} ${step.name} (${step.file ?? 'history only'})${step.transactional ? '' : ' outside a transaction'}...`,
      ),
    onDone: (outcome) => {
      core.info(`Reverted ${outcome.version} ${outcome.name} in ${formatDuration(outcome.durationMs)}.`);
      emitEvent('down_migration_reverted', {
        version: outcome.version,
        name: outcome.name,
        file: outcome.file,
        duration_ms: Math.round(outcome.durationMs),
      });
    },
  });
  const after = await readHistory(client, inputs.format, table);
  facts.completed = result.completed;
  facts.failure = result.failure;
  facts.finalVersion = after.current;

  let verify: VerifyResult | undefined;
  if (!result.failure && inputs.verify) {
    core.info(
      `Verifying: migrating a scratch database up to ${after.current ?? 'no version'} and comparing schemas...`,
    );
    verify = await verifyAgainstMigrations({
      target: inputs.target,
      migrationsDir: inputs.migrationsDir,
      format: inputs.format,
      table,
      version: after.current,
      pgBinDir: inputs.pgBinDir,
      serverMajor: server.major,
      rowCountsBefore: rowCountsBefore ?? (await tableRowCounts(client)),
    });
    facts.verify = verify;
  }

  facts.durationMs = Date.now() - started;
  setOutputs({
    reverted: result.completed.map(revertedEntry),
    planned,
    'plan-digest': digest,
    'final-version': after.current,
    'initial-version': history.current,
    'dry-run-sql': sqlOutput,
    'sql-file': sqlFile,
    failure: result.failure ? failureOutput(result.failure) : '',
    verified: verify ? String(verify.equal) : '',
    'duration-ms': facts.durationMs,
  });
  await writeSummary(renderSummary(facts));

  if (result.failure) {
    emitEvent('down_migrations_failed', {
      ...failureOutput(result.failure),
      reverted: result.completed.map((outcome) => outcome.version),
      final_version: after.current,
    });
    throw new ActionError(
      `${describeFailure(result.failure)}\n${result.completed.length} migration(s) reverted before it stay reverted and recorded; the history is at version ${after.current ?? 'none'}${after.dirty ? ' (dirty)' : ''}.`,
      {
        hint: result.failure.historyState,
      },
    );
  }
  emitEvent('down_migrations_complete', {
    from_version: history.current,
    final_version: after.current,
    reverted: result.completed.map((outcome) => outcome.version),
    duration_ms: facts.durationMs,
    verified: verify?.equal,
  });
  if (facts.nothingToDo) core.notice(`Nothing to revert: ${facts.nothingToDo}.`);
  else
    core.info(
      `Reverted ${result.completed.length} migration(s): ${tableName} is now at version ${after.current ?? 'none'} (${formatDuration(facts.durationMs)}).`,
    );
  if (verify?.rowsGained.length)
    core.warning(
      `Rows were added to ${verify.rowsGained.map((change) => change.table).join(', ')} while the migrations ran: something was writing to the database.`,
    );
  if (verify && !verify.equal) {
    throw new ActionError(
      `The down migrations ran, but verification found ${verify.problems.length} difference(s): ${verify.problems.join('; ')}.`,
      {
        hint: 'The schema is not what migrating up to the target gives: a down migration does not undo its up migration exactly. See the job summary for the statements that differ.',
      },
    );
  }
}

/**
 * What was approved is what runs: the plan's digest (entries already reverted by an earlier run of
 * the same plan included, so a re-run resumes) against expected-plan-digest; then the pre-checks
 * compute-rollback-target ran on every down script, against this database.
 */
async function checkPlan(
  inputs: ApplyDownInputs,
  migrations: Migration[],
  selection: DownSelection,
  plan: MigrationPlan,
  client: pg.Client,
): Promise<string> {
  const identity = downIdentity(migrations, [...selection.versions, ...selection.alreadyReverted], plan.toVersion);
  if (inputs.expectedPlanDigest && plan.migrations.length > 0) {
    verifyPlanDigest(
      inputs.expectedPlanDigest,
      identity,
      inputs.downTarget.kind === 'plan' ? inputs.downTarget.entries : undefined,
    );
    core.info(`The plan is the approved one: ${inputs.expectedPlanDigest}.`);
  }
  const problems = await checkDownScripts(plan.migrations, migrations, client);
  if (problems.length > 0) throw new MigrationPlanError(problems);
  return planDigest(identity);
}

const OUTPUT_LIMIT = 900_000;
const SUMMARY_SQL_LIMIT = 200_000;

/** The SQL cut to `limit` characters at a line end, saying where the rest is. */
function capped(sql: string, limit: number, file: string): string {
  if (sql.length <= limit) return sql;
  const cut = sql.lastIndexOf('\n', limit);
  return `${sql.slice(0, cut)}\n-- ... ${sql.length - cut} more characters: the whole script is in ${file}\n`;
}

function revertedEntry(outcome: MigrationOutcome): Record<string, unknown> {
  return {
    version: outcome.version,
    name: outcome.name,
    file: outcome.file ?? null,
    'duration-ms': Math.round(outcome.durationMs),
  };
}

function failureOutput(failure: MigrationFailure): Record<string, unknown> {
  return {
    version: failure.version,
    name: failure.name,
    file: failure.file ?? null,
    statement: failure.statement,
    line: failure.line ?? null,
    column: failure.column ?? null,
    code: failure.code ?? null,
    message: failure.message,
    detail: failure.detail ?? null,
    hint: failure.hint ?? null,
    'rolled-back': failure.rolledBack,
    'history-state': failure.historyState,
  };
}

function logPlan(plan: MigrationPlan, alreadyReverted: string[], nothingToDo: string | undefined): void {
  if (alreadyReverted.length) core.info(`Already reverted by an earlier run: ${alreadyReverted.join(', ')}.`);
  if (nothingToDo) {
    core.info(`Nothing to revert: ${nothingToDo}.`);
    return;
  }
  core.info(
    `Plan: revert ${plan.migrations.length} migration(s), version ${plan.fromVersion ?? 'none'} -> ${plan.toVersion ?? 'none'}:`,
  );
  for (const step of plan.migrations) {
    core.info(
      `  ${step.version} ${step.name}: ${step.file ?? 'history only'}${step.transactional ? '' : ' (outside a transaction)'}`,
    );
    for (const note of step.notes) core.info(`    note: ${note}`);
  }
}

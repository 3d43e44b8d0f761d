import * as core from '@actions/core';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type pg from 'pg';
import path from 'node:path';
import type { BackupProof } from '../../shared/backup/proof.js';
import { journal } from '../../shared/cancellation.js';
import { formatDuration } from '../../shared/duration.js';
import type { HostExecutor } from '../../shared/engine/executor.js';
import { openHostExecutor } from '../../shared/engine/host-inputs.js';
import { ActionError, InputError } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { qualifiedName } from '../../shared/migrations/history-table.js';
import { planDigest, verifyPlanDigest } from '../../shared/migrations/plan-digest.js';
import { directorySource } from '../../shared/migrations/sources.js';
import {
  downgradePlan,
  readAlembicRevisions,
  type AlembicRevision,
} from '../../shared/migrations/tools/alembic-revisions.js';
import {
  alembicLockKeys,
  alembicPlanIdentity,
  checkAlembicVersion,
  headsAfterReverting,
  readAlembicVersion,
  revertWithAlembic,
} from '../../shared/migrations/tools/alembic.js';
import { connect, describeTarget } from '../../shared/postgres/connection.js';
import { alembicEnv, offlineAlembicSql } from '../../shared/migrations/tools/alembic-command.js';
import { setOutputs } from '../../shared/outputs.js';
import { code, codeBlock, details, keyValueTable, markdownTable, writeSummary } from '../../shared/summary.js';
import type { AlembicDownInputs } from './inputs.js';

/**
 * migrations-format: alembic. Only the newer release's code has the downgrade() functions, so the
 * revert is the team's own `alembic downgrade <revision>` (migrate-command, on this runner or over
 * SSH), held inside our migration lock, with alembic_version checked before and after. The plan is
 * computed from the revision graph in migrations-dir and alembic_version.
 */
export async function runAlembic(
  inputs: AlembicDownInputs,
  proof: BackupProof | undefined,
  started: number,
): Promise<void> {
  const source = directorySource(inputs.migrationsDir);
  // The graph read (a python start) and the connection overlap; nothing is changed before both are checked.
  const connecting = connect(inputs.target, { applicationName: 'rollback-actions apply-down-migrations' });
  connecting.catch(() => undefined);
  let revisions: AlembicRevision[];
  try {
    revisions = await readAlembicRevisions(source, await source.listFiles());
  } catch (error) {
    await connecting.then((client) => client.end()).catch(() => undefined);
    throw error;
  }
  const client = await connecting;
  try {
    await runChecked(inputs, revisions, client, proof, started);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runChecked(
  inputs: AlembicDownInputs,
  revisions: AlembicRevision[],
  client: pg.Client,
  proof: BackupProof | undefined,
  started: number,
): Promise<void> {
  if (revisions.length === 0)
    throw new InputError(
      'migrations-dir',
      `holds no Alembic revision files: ${inputs.migrationsDir} (give the versions directory of the newer release).`,
    );
  const known = new Set(revisions.map((revision) => revision.revision));
  const unknownTarget = (inputs.targetRevisions ?? []).filter((id) => !known.has(id));
  if (unknownTarget.length)
    throw new InputError(
      'target-version',
      `names ${unknownTarget.join(', ')}, not a revision in ${inputs.migrationsDir} (revisions: ${revisions.map((revision) => revision.revision).join(', ')}). Nothing was changed.`,
    );
  const unknownPlanned = (inputs.plan ?? []).filter((entry) => !known.has(entry.version)).map((entry) => entry.version);
  if (unknownPlanned.length)
    throw new InputError(
      'plan',
      `lists ${unknownPlanned.join(', ')}, not a revision in ${inputs.migrationsDir}. Nothing was changed.`,
    );

  const executor = await openHostExecutor(inputs.ssh, inputs.workingDirectory);
  const commandEnv = alembicEnv(inputs.target, inputs.databaseUrl);
  journal.step(`Connected to ${describeTarget(inputs.target)}`);
  const tableName = qualifiedName(inputs.historyTable);
  const keys = alembicLockKeys(inputs.target.database, inputs.historyTable);
  try {
    await client.query(`SET statement_timeout = ${inputs.statementTimeoutMs}`);
    const current = await readAlembicVersion(client, inputs.historyTable);
    if (current === undefined)
      throw new ActionError(
        `The database has no ${tableName}: Alembic has recorded nothing there. Nothing was changed.`,
        { hint: 'Check database-url and history-table.' },
      );
    checkAlembicVersion(current, revisions, 'the database');
    const target =
      inputs.targetRevisions ??
      headsAfterReverting(
        revisions,
        current,
        (inputs.plan ?? []).map((entry) => entry.version),
      );
    const plan = downgradePlan(revisions, current, target);
    if (inputs.plan) {
      const planned = new Set(inputs.plan.map((entry) => entry.version));
      const applied = plan.revert.filter((id) => planned.has(id));
      if (applied.length !== plan.revert.length) {
        throw new InputError(
          'plan',
          `cannot be reverted on its own: downgrading to ${target.join(', ') || 'base'} also reverts ${plan.revert.filter((id) => !planned.has(id)).join(', ')}. Nothing was changed.`,
          { hint: 'Compute the plan again against the release running now.' },
        );
      }
    }
    const identity = alembicPlanIdentity(revisions, plan.revert, plan.after);
    const digest = planDigest(identity);
    if (inputs.expectedPlanDigest && plan.revert.length) {
      verifyPlanDigest(inputs.expectedPlanDigest, identity, inputs.plan);
      core.info(`The plan is the approved one: ${inputs.expectedPlanDigest}.`);
    }
    const byId = new Map(revisions.map((revision) => [revision.revision, revision]));
    const planned = plan.revert.map((id) => entryOf(byId.get(id)!));
    core.info(
      plan.revert.length
        ? `Plan: alembic downgrade ${current.join(', ')} -> ${plan.after.join(', ') || 'base'}, reverting ${plan.revert.join(', ')}.`
        : `Nothing to revert: alembic_version is ${current.join(', ') || 'empty'}.`,
    );

    // Alembic's offline mode: the SQL its downgrade() functions emit, without a database connection.
    const sql = plan.revert.length ? await dryRunSql(inputs, executor, commandEnv, current, target, revisions) : '';
    const sqlFile = path.join(
      process.env.RUNNER_TEMP || os.tmpdir(),
      `apply-down-migrations-${inputs.target.database.replace(/[^A-Za-z0-9_-]/g, '_')}-${Date.now()}.sql`,
    );
    writeFileSync(sqlFile, sql);
    const backup = proof
      ? `backup-db checksum ${inputs.backupChecksum!.replace(/^sha256:/, '').slice(0, 16)}…, found in ${proof.where}`
      : inputs.skipBackupCheck
        ? 'none: skip-backup-check: true'
        : 'not needed: dry run';
    const facts = {
      database: describeTarget(inputs.target),
      tableName,
      command: inputs.command,
      where: executor.remote ? code(executor.description) : executor.description,
      backup,
      lock: keys.map((key) => `advisory lock ${key.id}`).join(', '),
      before: current,
      after: plan.after,
      revert: plan.revert,
      byId,
      sql,
      dryRun: inputs.dryRun,
    };
    if (inputs.dryRun) {
      core.startGroup("Alembic's offline SQL for this downgrade (alembic downgrade <from>:<to> --sql)");
      core.info(sql);
      core.endGroup();
      setOutputs({
        reverted: [],
        planned,
        'plan-digest': digest,
        'final-version': plan.after.join(','),
        'initial-version': current.join(','),
        'dry-run-sql': sql,
        'sql-file': sqlFile,
        failure: '',
        verified: '',
        'duration-ms': Date.now() - started,
      });
      await writeSummary(renderAlembicSummary({ ...facts, durationMs: Date.now() - started }));
      return;
    }

    emitEvent('down_migrations_start', {
      database: inputs.target.database,
      format: 'alembic',
      history_table: tableName,
      from_version: current.join(','),
      to_version: plan.after.join(','),
      versions: plan.revert,
      backup_checksum: inputs.backupChecksum,
      backup_check_skipped: !inputs.backupChecksum && inputs.skipBackupCheck,
    });
    core.info(
      `Taking the migration lock (${facts.lock}) and running ${inputs.command.join(' ')} downgrade on ${executor.description}...`,
    );
    const result = await revertWithAlembic({
      client,
      database: inputs.target.database,
      table: inputs.historyTable,
      revisions,
      target,
      command: inputs.command,
      executor,
      cwd: inputs.workingDirectory,
      env: commandEnv,
      lockTimeoutMs: inputs.lockTimeoutMs,
      timeoutMs: inputs.statementTimeoutMs || undefined,
      onLine: (line) => core.info(line),
    });
    const durationMs = Date.now() - started;
    setOutputs({
      reverted: result.reverted.map((id) => entryOf(byId.get(id)!)),
      planned,
      'plan-digest': digest,
      'final-version': result.after.join(','),
      'initial-version': result.before.join(','),
      'dry-run-sql': sql,
      'sql-file': sqlFile,
      failure: '',
      verified: '',
      'duration-ms': durationMs,
    });
    await writeSummary(
      renderAlembicSummary({
        ...facts,
        before: result.before,
        after: result.after,
        revert: result.reverted,
        durationMs,
      }),
    );
    emitEvent('down_migrations_complete', {
      from_version: result.before.join(','),
      final_version: result.after.join(','),
      reverted: result.reverted,
      duration_ms: durationMs,
    });
    core.info(
      `Reverted ${result.reverted.length} Alembic revision(s): ${tableName} is now ${result.after.join(', ') || 'empty'} (${formatDuration(durationMs)}).`,
    );
  } finally {
    await executor.close?.();
  }
}

function entryOf(revision: AlembicRevision): Record<string, unknown> {
  return { version: revision.revision, name: revision.message, file: revision.file, transactional: true };
}

/** One `downgrade <from>:<to> --sql` per target head, from the current head above it. */
async function dryRunSql(
  inputs: AlembicDownInputs,
  executor: HostExecutor,
  env: Record<string, string>,
  current: readonly string[],
  target: readonly string[],
  revisions: readonly AlembicRevision[],
): Promise<string> {
  const parts: string[] = [];
  for (const to of target.length ? target : ['base']) {
    for (const from of current) {
      if (downgradePlan(revisions, [from], to === 'base' ? [] : [to]).revert.length === 0) continue;
      parts.push(
        await offlineAlembicSql(inputs.command, executor, 'downgrade', `${from}:${to}`, {
          cwd: inputs.workingDirectory,
          env,
        }),
      );
    }
    if (parts.length) break;
  }
  return parts.join('\n');
}

interface AlembicSummaryFacts {
  database: string;
  tableName: string;
  command: string[];
  where: string;
  backup: string;
  lock: string;
  before: string[];
  after: string[];
  revert: string[];
  byId: Map<string, AlembicRevision>;
  sql: string;
  dryRun: boolean;
  durationMs: number;
}

function renderAlembicSummary(facts: AlembicSummaryFacts): string {
  const move = `${facts.before.join(', ') || 'base'} → ${facts.after.join(', ') || 'base'}`;
  const parts = [
    `## ${facts.dryRun ? `Down migrations (dry run): would go ${move}` : facts.revert.length ? `Down migrations: ${move}` : 'Down migrations: nothing to do'}\n`,
  ];
  parts.push(
    keyValueTable([
      ['Database', code(facts.database)],
      ['Format', `alembic, history ${facts.tableName}`],
      ['Version', `${move}${facts.dryRun ? ' (planned)' : ''}`],
      ['Command', `${code(`${facts.command.join(' ')} downgrade`)} on ${facts.where}`],
      ['Backup', facts.backup],
      ['Migration lock', `${facts.lock}${facts.dryRun ? ' (not taken: dry run)' : ''}`],
      ['Duration', formatDuration(facts.durationMs)],
    ]),
  );
  if (facts.revert.length) {
    const rows = facts.revert.map((id) => [
      id,
      facts.byId.get(id)?.message ?? '',
      facts.byId.get(id)?.file ?? '',
      facts.dryRun ? 'planned' : 'reverted',
    ]);
    parts.push(`\n${markdownTable(['Revision', 'Message', 'File', 'Result'], rows)}`);
  }
  if (facts.dryRun && facts.sql)
    parts.push(`\n${details("Alembic's offline SQL (alembic downgrade --sql)", codeBlock(facts.sql, 'sql'))}`);
  return parts.join('');
}

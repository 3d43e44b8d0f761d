import * as core from '@actions/core';
import { ActionError, InputError } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { planDigest } from '../../shared/migrations/plan-digest.js';
import { setOutputs } from '../../shared/outputs.js';
import { describeTarget } from '../../shared/postgres/connection.js';
import { GitHubUnreachableError, githubClient } from '../../shared/releases/github.js';
import type { GitHubClient } from '../../shared/github/deployments.js';
import { writeSummary } from '../../shared/summary.js';
import { localExecutor } from '../../shared/engine/executor.js';
import { hostOnDemand, type HostOnDemand } from '../../shared/engine/host-on-demand.js';
import { alembicEnv } from '../../shared/migrations/tools/alembic-command.js';
import { planAlembic } from './alembic-plan.js';
import { startingHistory, statedTargetVersion, type StatedVersion } from './sql-files-plan.js';
import { annotate } from './annotations.js';
import { loadCompatibility } from './compatibility.js';
import { describeTagSources, resolveCurrent, type CurrentVersion } from './current.js';
import { closeDatabase, openDatabase, type DatabaseState } from './database.js';
import { readComputeInputs, type ComputeInputs } from './inputs.js';
import { migrationLabel } from './plan.js';
import { checkoutMigrations, collectTags, openSources, type Sources } from './repository.js';
import { planIdentity, planSchema, type SchemaPlan } from './schema-plan.js';
import { decideStrategy, type PlanWarning, type StrategyDecision } from './strategy.js';
import { renderSummary } from './summary.js';
import { resolveTarget, type TargetChoice } from './target.js';
import { verdict } from './verdict.js';
import { ledgerBackup, ledgerPreDeployPoint, openLedgerHistory, type LedgerHistory } from './ledger-source.js';
import type { BackupEntry } from '../../shared/ledger/ledger.js';
import type { TagCatalog } from '../../shared/releases/release-tags.js';
import type { CompatibilityMatrix } from './compatibility.js';

/** Warnings about the plan as a whole, from the migrations' findings and the chosen strategy. */
function planWarnings(schema: SchemaPlan | undefined, decision: StrategyDecision): PlanWarning[] {
  const warnings: PlanWarning[] = [...(schema?.warnings ?? [])];
  for (const migration of schema?.toRevert ?? []) {
    if (migration.downStatus !== 'present') {
      const what =
        migration.downStatus === 'missing' ? 'has no down file' : `has an empty down file (${migration.down})`;
      warnings.push({
        kind: `${migration.downStatus}-down`,
        migration: migration.version,
        message: `${migrationLabel(migration)} ${what}: only a backup restore can undo it.`,
      });
    }
    for (const statement of migration.statements) {
      if (statement.class === 'unknown') {
        warnings.push({
          kind: 'unanalysed-sql',
          migration: migration.version,
          message: `${migrationLabel(migration)} line ${statement.line}: ${statement.reasons.join('; ')}.`,
        });
      }
      for (const warning of statement.warnings ?? []) {
        warnings.push({
          kind: warning.kind,
          migration: migration.version,
          message: `${migrationLabel(migration)} line ${statement.line} ${warning.message}`,
        });
      }
    }
    // What the down files destroy matters only when they are the plan.
    if (decision.strategy === 'down-migrations') {
      for (const finding of migration.revertWarnings)
        warnings.push({ kind: finding.kind, migration: migration.version, message: finding.message });
    }
  }
  if (decision.strategy === 'down-migrations') {
    for (const problem of schema?.downProblems ?? [])
      warnings.push({
        kind: 'apply-would-refuse',
        message: `apply-down-migrations would refuse the revert: ${problem}`,
      });
  }
  if (decision.strategy === 'restore-backup') {
    warnings.push({
      kind: 'data-loss',
      message:
        'Restoring a backup loses every write made after the backup was taken: take a fresh backup of the current database first, to recover recent rows by hand.',
    });
  }
  return [...warnings, ...decision.warnings];
}

/** The schema side of the plan, with the database read when database-url is given (and closed after). */
async function planDatabase(
  inputs: ComputeInputs,
  sources: Sources,
  catalog: TagCatalog,
  current: CurrentVersion,
  target: TargetChoice,
  compatibility: CompatibilityMatrix | undefined,
): Promise<SchemaPlan | undefined> {
  if (!sources.git || sources.migrationsPath === undefined) return undefined;
  const { git, migrationsPath } = sources;
  const format = inputs.migrationsFormat;
  if (format === 'alembic')
    return await planAlembic({
      repoRoot: git.root,
      dir: migrationsPath,
      current: current.release,
      target: target.release,
      database: inputs.database,
      historyTable: inputs.historyTable,
      command: inputs.alembic && {
        argv: inputs.alembic.command,
        cwd: inputs.alembic.workingDirectory,
        env: inputs.database ? alembicEnv(inputs.database, inputs.databaseUrl) : undefined,
        executor: localExecutor,
      },
    });
  let database: DatabaseState | undefined;
  try {
    const statedTarget = await statedTargetVersion(git.root, inputs.sqlFiles, target.release);
    if (statedTarget) core.info(`Target schema ${statedTarget.version}: ${statedTarget.where}.`);
    let statedCurrent: StatedVersion | undefined;
    if (inputs.database) {
      database = await openDatabase(inputs.database, format, inputs.historyTable);
      if (format === 'sql-files') {
        const start = await startingHistory(
          git.root,
          inputs.sqlFiles,
          current.release,
          database.history,
          inputs.historyTable,
        );
        database.history = start.history;
        statedCurrent = start.stated;
      }
      core.info(
        `Read the history of ${database.description}: version ${database.history.current ?? 'none'}${database.history.dirty ? ' (dirty)' : ''}${statedCurrent ? ` (stated: ${statedCurrent.where})` : ''}.`,
      );
    }
    return await planSchema({
      statedTarget,
      statedCurrent,
      repoRoot: sources.git.root,
      dir: sources.migrationsPath,
      format,
      current: current.release,
      target: target.release,
      compatibility,
      readCheckout: () => checkoutMigrations(git, migrationsPath, format),
      releases: catalog.releases,
      database,
      historyTable: inputs.historyTable,
    });
  } finally {
    await closeDatabase(database);
  }
}

/** Where the deployment history came from: "github" (Deployments API), "ledger", or "" when neither was read. */
function historySourceOf(
  current: CurrentVersion,
  target: TargetChoice,
  ledger: LedgerHistory | undefined,
): '' | 'github' | 'ledger' {
  if (current.source === 'ledger' || (target.source === 'last-successful-deployment' && !target.deployment && ledger))
    return 'ledger';
  if (current.source === 'deployment' || target.deployment) return 'github';
  return '';
}

function ledgerNotes(
  historySource: string,
  ledger: LedgerHistory | undefined,
  backup: BackupEntry | undefined,
  point: BackupEntry | undefined,
): string[] {
  if (!ledger) return [];
  const read =
    historySource === 'ledger'
      ? `Deployment history read from the deployment ledger ${ledger.path} (${ledger.entries.length} entries), not from GitHub.`
      : `Deployment ledger ${ledger.path}: ${ledger.entries.length} entries.`;
  const latest = backup
    ? `Latest backup in the ledger: ${backup.location} (${backup.time}, app ${backup.appVersion ?? 'unknown'}, schema ${backup.schemaVersion ?? 'unknown'}, ${backup.checksum ?? 'no checksum'}).`
    : 'The ledger records no backup.';
  const restorePoint = point?.restorePoint
    ? [
        `Pre-deploy restore point in the ledger: ${point.restorePoint.name} at ${point.restorePoint.lsn} (${point.restorePoint.time}, backup set ${point.backupLabel ?? 'unknown'}, app ${point.appVersion ?? 'unknown'}, schema ${point.schemaVersion ?? 'unknown'}).`,
      ]
    : [];
  return [read, latest, ...restorePoint];
}

interface History {
  sources: Sources;
  catalog: TagCatalog;
  current: CurrentVersion;
  target: TargetChoice;
  ledger?: LedgerHistory;
}

/** The tags, what runs now and the target: from GitHub with a client, from the checkout and the ledger without. */
async function readHistory(
  inputs: ComputeInputs,
  client: GitHubClient | undefined,
  host: HostOnDemand,
  openLedger: () => Promise<LedgerHistory | undefined>,
): Promise<History> {
  const sources = await openSources(inputs, client);
  const catalog = await collectTags(sources, inputs.tagScheme);
  if (inputs.target.kind === 'tag' && !catalog.byTag.has(inputs.target.tag)) {
    throw new InputError(
      'target',
      `names tag ${inputs.target.tag}, which does not exist: it is not among the ${describeTagSources(catalog, client)}.`,
      {
        hint: 'If the tag exists on GitHub, check out with "fetch-depth: 0" (or pass github-token) so its tags are visible.',
      },
    );
  }
  const ledger = await openLedger();
  const current = await resolveCurrent(inputs, catalog, client, host, ledger);
  const target = await resolveTarget(inputs, catalog, current, client, ledger);
  return { sources, catalog, current, target, ledger };
}

export async function run(): Promise<void> {
  const inputs = readComputeInputs();
  // Everything checkable without the network is checked first: the compatibility file, the checkout, the directory.
  const compatibility = inputs.compatibilityFile ? await loadCompatibility(inputs.compatibilityFile) : undefined;
  const client = inputs.githubToken ? await githubClient(inputs.githubToken) : undefined;
  // The deploy host (ssh-host) keeps the ledger and may run the swarm service: both are read over one connection.
  const host = hostOnDemand(inputs.ssh, process.cwd());
  let ledgerRead: Promise<LedgerHistory | undefined> | undefined;
  const openLedger = () => (ledgerRead ??= openLedgerHistory(inputs, host));
  let history: History;
  let githubLost: string | undefined;
  try {
    history = await readHistory(inputs, client, host, openLedger);
  } catch (error) {
    // GitHub down while it was asked (it may have answered a moment before): a read, so the ledger
    // can answer it instead, and the summary says so. A refusal (401/403/404) stays an error.
    if (!(error instanceof GitHubUnreachableError) || !(await openLedger())) throw error;
    githubLost = error.message;
    core.warning(`${githubLost}. The deployment history is read from the deployment ledger instead.`);
    history = await readHistory(inputs, undefined, host, openLedger);
  } finally {
    await host.close();
  }
  const { sources, catalog, current, target, ledger } = history;
  const historySource = historySourceOf(current, target, ledger);
  const backup = ledgerBackup(ledger);
  const preDeployPoint = ledgerPreDeployPoint(ledger, current.release.tag);
  core.info(
    `Rolling back from ${current.release.tag} (${current.detail}) to ${target.release.tag} (${target.detail}).`,
  );

  const schema = await planDatabase(inputs, sources, catalog, current, target, compatibility);
  const toRevert = schema?.toRevert ?? [];
  const stops = schema?.stops ?? [];
  const decision = decideStrategy(toRevert, inputs.dbPolicy, {
    targetTag: target.release.tag,
    fromCompatibility: schema?.compatibility !== undefined,
    compatibleNote:
      schema?.compatibleNote ??
      (schema ? undefined : 'No migrations directory given: nothing to revert in the database.'),
    downProblems: schema?.downProblems,
  });
  const warnings = planWarnings(schema, decision);
  if (current.deployment && current.deployment.latestState !== 'success') {
    warnings.unshift({
      kind: 'current-deployment',
      message: `The latest deployment to ${inputs.environment} (${current.release.tag}, id ${current.deployment.id}) is "${current.deployment.latestState ?? 'without status'}", not success: check what actually runs.`,
    });
  }
  // Asked for the version that runs: nothing to do, which is an answer, not a failure (an automatic
  // rollback that lost a race with a manual one, a button pressed twice).
  const text = target.isCurrent
    ? `${target.release.tag} is already the current version${inputs.environment ? ` of ${inputs.environment}` : ''}: nothing to roll back.`
    : verdict({
        currentTag: current.release.tag,
        targetTag: target.release.tag,
        currentSchema: schema?.currentSchema,
        targetSchema: schema?.targetSchema,
        toRevert,
        decision,
        source: schema?.source,
        stops,
      });
  const digest = stops.length ? '' : planDigest(planIdentity(schema, decision.strategy));

  annotate(warnings);
  setOutputs({
    'current-tag': current.release.tag,
    'target-tag': target.release.tag,
    'nothing-to-roll-back': target.isCurrent === true,
    'current-schema-version': schema?.currentSchema,
    'target-schema-version': schema?.targetSchema,
    strategy: stops.length ? '' : decision.strategy,
    'recommended-strategy': stops.length ? '' : decision.recommended,
    migrations: toRevert,
    'plan-digest': digest,
    'plan-source': schema?.source,
    stops,
    reasons: decision.reasons,
    warnings,
    verdict: text,
    'history-source': historySource,
    'latest-backup': backup ?? '',
    'pre-deploy-restore-point-lsn': preDeployPoint?.restorePoint?.lsn,
  });
  core.info(text);
  emitEvent('rollback_plan', {
    current: current.release.tag,
    target: target.release.tag,
    target_source: target.source,
    history_source: historySource || null,
    nothing_to_roll_back: target.isCurrent === true,
    strategy: stops.length ? 'stop' : decision.strategy,
    recommended: decision.recommended,
    migrations: toRevert.map((migration) => migration.version),
    plan_digest: digest || null,
    planned_from: schema?.source ?? null,
    warnings: warnings.length,
  });
  await writeSummary(
    renderSummary({
      current,
      target,
      schema,
      migrationsDir: inputs.migrationsDir,
      decision,
      policy: inputs.dbPolicy,
      verdict: text,
      warnings,
      notes: [
        ...sources.notes,
        ...(schema?.targetSchemaFrom ? [`Target schema ${schema.targetSchema}: ${schema.targetSchemaFrom}.`] : []),
        ...(githubLost ? [`${githubLost}: the history below comes from the deployment ledger instead.`] : []),
        ...ledgerNotes(historySource, ledger, backup, preDeployPoint),
        ...catalog.ignored.map((ignored) => `Ignored tag ${ignored.tag}: ${ignored.reason}.`),
      ],
      database: inputs.database ? describeTarget(inputs.database) : undefined,
      planDigest: digest || 'none (the plan stops)',
    }),
  );
  if (stops.length) {
    throw new ActionError(`No rollback may start: ${stops.join(' ')}`, {
      hint: 'The plan summary says what the database holds; resolve it, then plan again.',
    });
  }
}

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ActionError, InputError } from '../../shared/errors.js';
import { historyTableExists, qualifiedName, type HistoryTable } from '../../shared/migrations/history.js';
import { alembicRestoreIdentity, type PlanIdentity } from '../../shared/migrations/plan-digest.js';
import { directorySource, gitRefSource } from '../../shared/migrations/sources.js';
import { sinceTarget, type SinceTarget } from '../../shared/migrations/classify.js';
import { classifyAlembicOps, classifyOfflineSql, offlineSections } from '../../shared/migrations/tools/alembic-ops.js';
import { offlineAlembicSql } from '../../shared/migrations/tools/alembic-command.js';
import type { HostExecutor } from '../../shared/engine/executor.js';
import {
  ancestry,
  downgradePlan,
  heads,
  readAlembicGraphs,
  type AlembicRevision,
} from '../../shared/migrations/tools/alembic-revisions.js';
import { alembicPlanIdentity, checkAlembicVersion, readAlembicVersion } from '../../shared/migrations/tools/alembic.js';
import type { FileSource } from '../../shared/migrations/types.js';
import { connect, describeTarget, type PgTarget } from '../../shared/postgres/connection.js';
import { objectTypeAt, tagRef } from '../../shared/releases/git.js';
import type { ReleaseTag } from '../../shared/releases/release-tags.js';
import type { PlannedMigration } from './plan.js';
import type { SchemaPlan } from './schema-plan.js';
import type { PlanWarning, Strategy } from './strategy.js';

/**
 * migrations-format: alembic. The versions directory is a revision graph (down_revision, merge
 * tuples, branch_labels, depends_on), read with Python's own parser at the current release, at the
 * target release and in the checkout (what apply-down-migrations runs from), in one python process.
 * The target is the head (or heads) at the target tag; the current one is alembic_version when the
 * database is given, else the heads at the current release. What to revert is what
 * `alembic downgrade <target>` removes, computed as apply-down-migrations computes it, so the plan's
 * digest is the one apply-down-migrations checks.
 */

export interface AlembicPlanRequest {
  repoRoot: string;
  dir: string;
  current: ReleaseTag;
  target: ReleaseTag;
  database?: PgTarget;
  historyTable: HistoryTable;
  /** The team's alembic, for its offline SQL; undefined: classify from the op.* calls. */
  command?: AlembicCommand;
}

/** What the plan digest needs to be apply-down-migrations' own (alembicPlanIdentity over the checkout's graph). */
export interface AlembicSchemaFacts {
  revisions: AlembicRevision[];
  revert: string[];
  after: string[];
  /** alembic_version now (the database's, else the current release's heads) and the target release's heads. */
  currentHeads: string[];
  targetHeads: string[];
}

const FETCH_HINT = 'Check out with "fetch-depth: 0" so every release tag and its files are in the checkout.';

/** The versions directory at a release tag; undefined for a target release from before it existed. */
async function sourceAt(
  repoRoot: string,
  dir: string,
  release: ReleaseTag,
  role: 'current' | 'target',
): Promise<{ source: FileSource; files: string[] } | undefined> {
  const ref = tagRef(release.tag);
  if ((await objectTypeAt(repoRoot, ref, '')) === undefined)
    throw new ActionError(
      `Release ${release.tag} is on GitHub but not in the checkout, so its Alembic revisions cannot be read.`,
      { hint: FETCH_HINT },
    );
  const type = await objectTypeAt(repoRoot, ref, dir);
  if (type === undefined) {
    if (role === 'target') return undefined;
    throw new InputError('migrations-dir', `"${dir}" does not exist at the current release ${release.tag}.`);
  }
  if (type !== 'tree') throw new InputError('migrations-dir', `"${dir}" is not a directory at ${release.tag}.`);
  const source = gitRefSource(repoRoot, ref, dir);
  return { source, files: await source.listFiles() };
}

/** The versions directory as checked out (the work tree, else HEAD): the downgrade() functions apply-down-migrations runs. */
async function checkoutSource(repoRoot: string, dir: string): Promise<{ source: FileSource; files: string[] }> {
  const absolute = path.join(repoRoot, dir);
  const source =
    existsSync(absolute) && statSync(absolute).isDirectory()
      ? directorySource(absolute)
      : gitRefSource(repoRoot, 'HEAD', dir);
  return { source, files: await source.listFiles() };
}

/** alembic_version, read in a read-only transaction; undefined when the table does not exist. */
async function readDatabaseHeads(target: PgTarget, table: HistoryTable): Promise<string[] | undefined> {
  const client = await connect(target, { applicationName: 'rollback-actions compute-rollback-target' });
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (!(await historyTableExists(client, table))) return undefined;
    return await readAlembicVersion(client, table);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

const downStatusOf = (revision: AlembicRevision): PlannedMigration['downStatus'] =>
  revision.downgrade === 'missing' || revision.downgrade === 'raises' ? 'missing' : 'present';

/** How compute-rollback-target runs the team's alembic for its offline SQL (migrate-command, working-directory). */
export interface AlembicCommand {
  argv: string[];
  cwd: string;
  /** DATABASE_URL and PG* from database-url; without it env.py sees the runner's environment. */
  env?: Record<string, string>;
  executor: HostExecutor;
}

/** Each reverted revision's part of Alembic's offline upgrade SQL, or why it could not be had. */
interface OfflineUpgrades {
  sections: Map<string, string>;
  commands: string[];
  failure?: string;
}

/**
 * Alembic's own offline upgrade SQL (`alembic upgrade <target head>:<current head> --sql`, one run
 * per current head above the target), split per revision. A run that fails (no alembic on the
 * runner, no alembic.ini in working-directory, an env.py that needs a connection) leaves the
 * classification to the op.* calls, with the reason.
 */
async function offlineUpgrades(
  command: AlembicCommand,
  graph: readonly AlembicRevision[],
  currentHeads: readonly string[],
  targetHeads: readonly string[],
): Promise<OfflineUpgrades> {
  const sections = new Map<string, string>();
  const commands: string[] = [];
  for (const head of currentHeads) {
    if (downgradePlan(graph, [head], targetHeads).revert.length === 0) continue;
    // Alembic's offline range starts at one revision; from one of several target heads it also renders the others' branches, which are not read.
    const range = targetHeads.length ? `${targetHeads[0]}:${head}` : head;
    commands.push([...command.argv, 'upgrade', range, '--sql'].join(' '));
    try {
      const sql = await offlineAlembicSql(command.argv, command.executor, 'upgrade', range, {
        cwd: command.cwd,
        env: command.env,
      });
      for (const [revision, part] of offlineSections(sql)) sections.set(revision, part);
    } catch (error) {
      return { sections: new Map(), commands, failure: (error as Error).message.split('\n')[0] };
    }
  }
  return { sections, commands };
}

/** One revision to revert, classified from its offline SQL (or its upgrade()'s op.* calls), its downgrade()'s data loss as revert warnings. */
async function plannedRevision(
  revision: AlembicRevision,
  inCurrentRelease: boolean,
  targetTag: string,
  offline: { sql?: string; from: string; versionTable: string; since: SinceTarget },
): Promise<PlannedMigration> {
  const classification =
    offline.sql === undefined
      ? await classifyAlembicOps(revision.upgradeOps, revision.file)
      : await classifyOfflineSql(offline.sql, offline.versionTable, {
          since: offline.since,
          label: `revision ${revision.revision} ${revision.message}`.trim(),
        });
  const downgrade = await classifyAlembicOps(revision.downgradeOps, revision.file);
  const revertWarnings = downgrade.statements
    .filter((statement) => statement.class === 'data-loss')
    .map((statement) => ({
      kind: 'data-loss' as const,
      message: `Reverting ${revision.revision} ${statement.reasons.join('; ')} (downgrade(), line ${statement.line}): what was written there since ${targetTag} is lost.`,
      sql: statement.sql,
    }));
  const status = downStatusOf(revision);
  return {
    version: revision.revision,
    name: revision.message,
    class: classification.class,
    up: revision.file,
    down: status === 'missing' ? null : revision.file,
    downStatus: status,
    downTransactional: status === 'missing' ? null : true,
    downSha256: status === 'missing' ? null : revision.sha256,
    inCurrentRelease,
    statements: classification.statements,
    dataLost: [...new Set(classification.statements.flatMap((statement) => statement.lost ?? []))],
    revertWarnings,
    classifiedFrom: offline.from,
  };
}

/** Where a revision's class comes from, as the plan and the summary say it. */
function classificationSource(offline: OfflineUpgrades, revision: string, command: AlembicCommand | undefined): string {
  if (offline.sections.has(revision)) return `Alembic's offline SQL (${offline.commands.join('; ')})`;
  const why = !command
    ? 'no migrate-command to run'
    : (offline.failure ?? `${offline.commands.join('; ') || 'alembic upgrade --sql'} rendered no part for it`);
  return `the op.* calls of upgrade() (Python's ast; Alembic's offline SQL was not used: ${why})`;
}

export async function planAlembic(request: AlembicPlanRequest): Promise<SchemaPlan & { alembic: AlembicSchemaFacts }> {
  const { repoRoot, dir, current, target } = request;
  const atCurrent = await sourceAt(repoRoot, dir, current, 'current');
  const atTarget = await sourceAt(repoRoot, dir, target, 'target');
  const checkout = await checkoutSource(repoRoot, dir);
  const sources = [atCurrent!, checkout, ...(atTarget ? [atTarget] : [])];
  const [currentGraph, checkoutGraph, targetGraph = []] = await readAlembicGraphs(sources);
  if (currentGraph.length === 0)
    throw new InputError(
      'migrations-format',
      `is "alembic", but "${dir}" at ${current.tag} holds no Alembic revision file (a .py file with a module-level revision).`,
    );

  const warnings: PlanWarning[] = [];
  const stops: string[] = [];
  const targetHeads = heads(targetGraph);
  const known = new Set(checkoutGraph.map((revision) => revision.revision));
  const missingTarget = targetHeads.filter((head) => !known.has(head));
  if (missingTarget.length)
    stops.push(
      `The target ${target.tag}'s head ${missingTarget.join(', ')} is not a revision of ${dir} in the checkout: alembic downgrade cannot reach it. Check out the current release.`,
    );

  let currentHeads: string[];
  if (request.database) {
    const table = qualifiedName(request.historyTable);
    const found = await readDatabaseHeads(request.database, request.historyTable);
    if (found === undefined)
      throw new InputError(
        'history-table',
        `is ${table}, which ${describeTarget(request.database)} does not have: Alembic has recorded nothing there. Check database-url and history-table.`,
      );
    try {
      checkAlembicVersion(found, checkoutGraph, `${describeTarget(request.database)} (history-table ${table})`);
    } catch (error) {
      if (error instanceof ActionError)
        throw new InputError('database-url', `is at a revision the plan cannot use: ${error.message}`, {
          hint: error.hint,
        });
      throw error;
    }
    currentHeads = found;
  } else {
    currentHeads = heads(currentGraph);
  }

  const plan = missingTarget.length
    ? { revert: [], after: currentHeads }
    : downgradePlan(checkoutGraph, currentHeads, targetHeads);
  const shipped = new Map(currentGraph.map((revision) => [revision.revision, revision]));
  const runs = new Map(checkoutGraph.map((revision) => [revision.revision, revision]));
  const offline =
    request.command && plan.revert.length
      ? await offlineUpgrades(request.command, checkoutGraph, currentHeads, targetHeads)
      : { sections: new Map<string, string>(), commands: [] };
  const since = sinceTarget(target.tag);
  const toRevert: PlannedMigration[] = [];
  // Oldest first, so that what one revision creates is known when a later one drops it.
  for (const id of [...plan.revert].reverse()) {
    const revision = runs.get(id)!;
    const before = shipped.get(id);
    if (before && before.sha256 !== revision.sha256)
      warnings.push({
        kind: 'edited-migration',
        migration: id,
        message: `Alembic revision ${id} (${revision.file}) differs between ${current.tag} and the checkout: the plan reverts with the checkout's downgrade().`,
      });
    toRevert.unshift(
      await plannedRevision(revision, shipped.has(id), target.tag, {
        sql: offline.sections.get(id),
        from: classificationSource(offline, id, request.command),
        versionTable: request.historyTable.table,
        since,
      }),
    );
  }
  const applied = [...ancestry(checkoutGraph, currentHeads)].sort();
  const currentSchema = currentHeads.join(',') || '0';
  const targetSchema = targetHeads.join(',') || '0';
  return {
    source: request.database ? 'database' : 'git',
    currentSchema,
    targetSchema,
    toRevert,
    kept: [],
    warnings,
    stops,
    downProblems: [],
    history: { exists: true, applied, current: currentSchema, dirty: false },
    checkout: [],
    alembic: { revisions: checkoutGraph, revert: plan.revert, after: plan.after, currentHeads, targetHeads },
  };
}

/** The plan's identity as apply-down-migrations (down-migrations) computes it for Alembic. */
export function alembicIdentity(facts: AlembicSchemaFacts, strategy: Strategy, currentSchema: string): PlanIdentity {
  if (strategy === 'down-migrations') return alembicPlanIdentity(facts.revisions, facts.revert, facts.after);
  if (strategy === 'restore-backup') return alembicRestoreIdentity(facts.targetHeads, facts.currentHeads);
  return { strategy, targetVersion: currentSchema, reverts: [] };
}

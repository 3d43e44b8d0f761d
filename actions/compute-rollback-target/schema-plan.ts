import type pg from 'pg';
import { compareVersions } from '../../shared/migrations/formats.js';
import { checkDownScripts } from '../../shared/migrations/down-checks.js';
import { downIdentity, restoreEntries, type PlanIdentity } from '../../shared/migrations/plan-digest.js';
import type { HistoryState, HistoryTable } from '../../shared/migrations/history.js';
import { appliedVersions, MigrationPlanError, planDown, type MigrationPlan } from '../../shared/migrations/runner.js';
import type { Migration, MigrationFormat } from '../../shared/migrations/types.js';
import { alembicIdentity, type AlembicSchemaFacts } from './alembic-plan.js';
import type { ReleaseTag } from '../../shared/releases/release-tags.js';
import { migrationTool } from '../../shared/migrations/tools/index.js';
import { qualifiedName } from '../../shared/migrations/history-table.js';
import type { StatedVersion } from './sql-files-plan.js';
import { compatibilityFor, type CompatibilityEntry, type CompatibilityMatrix } from './compatibility.js';
import { assertFormatMatches, diffMigrations, releaseHaving } from './migration-diff.js';
import { migrationLabel, planMigrations, type PlannedMigration } from './plan.js';
import type { PlanWarning, Strategy } from './strategy.js';

/** What happens to the schema: which migrations to revert, and the versions before and after. */
export interface SchemaPlan {
  /** Where the revert set comes from: the database's own history, or git alone. */
  source: 'database' | 'git';
  /** The version the database is at: its history's (from the database) or the newest migration at the current release ('0' when none). */
  currentSchema: string;
  /** Newest migration the target's schema includes: what reverting brings the database to ('0': none). */
  targetSchema: string;
  /** Migrations to revert, newest first. */
  toRevert: PlannedMigration[];
  /** Migrations newer than the target that the compatibility file says the target runs with. */
  kept: PlannedMigration[];
  compatibility?: { file: string; entry: CompatibilityEntry };
  /** When the compatibility file says the target runs on the current schema. */
  compatibleNote?: string;
  /** sql-files: where the target's schema number was read (the matrix line at the target tag). */
  targetSchemaFrom?: string;
  warnings: PlanWarning[];
  /** Reasons no rollback may start: a dirty history, applied versions the repository does not know. */
  stops: string[];
  /** Why apply-down-migrations, run from this checkout, would refuse the revert: its own pre-checks. */
  downProblems: string[];
  /** The runner's plan of the revert, as apply-down-migrations makes it (undefined when it refuses). */
  downPlan?: MigrationPlan;
  /** The history the revert set was taken from (the database's, or what git implies). */
  history: HistoryState;
  /** The migrations directory of the checkout: the down files that run. */
  checkout: Migration[];
  /** migrations-format alembic: the checkout's revision graph and the downgrade, which the digest is made of. */
  alembic?: AlembicSchemaFacts;
}

/** The database the rollback runs on, when the plan may read it. */
export interface DatabaseView {
  client: pg.Client;
  history: HistoryState;
  table: HistoryTable;
  serverVersionNum: number;
}

export interface SchemaPlanRequest {
  repoRoot: string;
  dir: string;
  format: MigrationFormat;
  current: ReleaseTag;
  target: ReleaseTag;
  compatibility?: CompatibilityMatrix;
  /** Reads the migrations directory as checked out: what apply-down-migrations runs from the same checkout. */
  readCheckout(): Promise<Migration[]>;
  /** Release tags in the checkout, newest first: where an applied version the checkout lacks is looked for. */
  releases: readonly ReleaseTag[];
  database?: DatabaseView;
  historyTable: HistoryTable;
  /** sql-files: the target's schema number from the runbook's matrix at the target tag. */
  statedTarget?: StatedVersion;
  /** sql-files before the suite's history table exists: the version the runbook states (database.history holds it). */
  statedCurrent?: StatedVersion;
}

const newest = (versions: string[]): string =>
  versions.reduce((top, version) => (compareVersions(version, top) > 0 ? version : top), '0');

/** What the history would be if the database were exactly at the current release. */
function historyFromGit(format: MigrationFormat, atCurrent: readonly Migration[], currentSchema: string): HistoryState {
  const applied =
    format === 'golang-migrate'
      ? currentSchema === '0'
        ? []
        : [currentSchema]
      : atCurrent.map((migration) => migration.version);
  return { exists: true, applied, current: applied.at(-1) ?? null, dirty: false };
}

interface RevertSet {
  versions: string[];
  stops: string[];
  /** Migrations found only at another release tag (the checkout lacks them). */
  elsewhere: Migration[];
}

/** The database's history decides: every applied version above the target, wherever it came from. */
async function revertSetFromDatabase(
  request: SchemaPlanRequest,
  checkout: readonly Migration[],
  database: DatabaseView,
  targetSchema: string,
): Promise<RevertSet> {
  const { history, table } = database;
  const where = `${table.schema}.${table.table}`;
  const stops: string[] = [];
  const elsewhere: Migration[] = [];
  if (!history.exists && !request.statedCurrent) {
    const stateIt =
      request.format === 'sql-files'
        ? ' The suite keeps this table for hand-run SQL files: before the first revert, give current-version (or compat-file) to state the version the database is at.'
        : '';
    stops.push(
      `The database has no history table ${where}: no ${request.format} migration is recorded there, so what is applied cannot be known. Check database-url, history-table and migrations-format.${stateIt}`,
    );
    return { versions: [], stops, elsewhere };
  }
  if (history.dirty) {
    stops.push(
      `The history table ${where} is dirty at version ${history.current}: a migration failed part-way, so the schema may be half-changed. Repair it (finish or undo that migration, then \`migrate force\` the real version) before any rollback.`,
    );
  }
  const inCheckout = new Set(checkout.map((migration) => migration.version));
  for (const version of history.applied.filter((candidate) => !inCheckout.has(candidate))) {
    const found = await releaseHaving(request.repoRoot, request.dir, request.format, request.releases, version);
    if (found) elsewhere.push(found.migration);
    else
      stops.push(
        `The database has version ${version} applied, which is not a migration of this repository (not in ${request.dir} of the checkout nor at any release tag): something outside the releases changed the schema. Find out what before rolling back.`,
      );
  }
  const known = [...checkout, ...elsewhere].sort((a, b) => compareVersions(a.version, b.version));
  // golang-migrate and sql-files record only the newest version: everything at or below it counts as applied.
  const applied =
    history.current !== null && known.some((migration) => migration.version === history.current)
      ? appliedVersions(request.format, known, history)
      : history.applied;
  return {
    versions: applied.filter((version) => compareVersions(version, targetSchema) > 0).reverse(),
    stops,
    elsewhere,
  };
}

/**
 * apply-down-migrations' own plan of the revert, made from the checkout's directory, and its
 * pre-checks of every down script (against the database when there is one): the reasons it would
 * refuse, if any.
 */
async function planRevert(
  request: SchemaPlanRequest,
  checkout: readonly Migration[],
  history: HistoryState,
  versions: string[],
): Promise<{ plan?: MigrationPlan; problems: string[] }> {
  if (versions.length === 0) return { problems: [] };
  try {
    const plan = await planDown(checkout, history, versions, {
      format: request.format,
      table: request.historyTable,
      serverVersionNum: request.database?.serverVersionNum,
      migrationsDir: `${request.dir} (the checkout)`,
    });
    return { plan, problems: await checkDownScripts(plan.migrations, checkout, request.database?.client) };
  } catch (error) {
    if (error instanceof MigrationPlanError) return { problems: error.problems };
    throw error;
  }
}

export async function planSchema(request: SchemaPlanRequest): Promise<SchemaPlan> {
  const { repoRoot, dir, format, current, target } = request;
  const diff = await diffMigrations(repoRoot, dir, format, current, target);
  await assertFormatMatches(repoRoot, dir, format, current, diff.current);
  const checkout = await request.readCheckout();
  const warnings: PlanWarning[] = [];
  for (const migration of diff.onlyAtTarget) {
    warnings.push({
      kind: 'diverged-history',
      migration: migration.version,
      message: `${migrationLabel(migration)} exists at ${target.tag} but not at ${current.tag}: the releases' histories diverged, so the database may hold a migration the current release never had.`,
    });
  }
  for (const migration of diff.editedSince) {
    warnings.push({
      kind: 'edited-migration',
      migration: migration.version,
      message: `${migrationLabel(migration)} differs between ${target.tag} and ${current.tag}: an applied migration was edited, so a database may not match either file.`,
    });
  }
  const releaseSchema = newest(diff.current.map((migration) => migration.version));
  const entry = request.compatibility ? compatibilityFor(request.compatibility, target.version.semver!) : undefined;
  if (request.compatibility && !entry) {
    warnings.push({
      kind: 'compatibility',
      message: `The compatibility file ${request.compatibility.file} has no entry for ${target.tag}: the plan follows the migrations in git instead.`,
    });
  }

  // Which versions the target's schema ends at, and (from git) which ones it cannot run with.
  let targetSchema = newest(diff.target.map((migration) => migration.version));
  let fromGit = diff.pending.map((migration) => migration.version);
  let keptVersions: string[] = [];
  const ceiling = entry?.maxSchema ?? request.statedTarget?.version;
  if (ceiling !== undefined) {
    // The matrix is the authority: revert exactly what lies above the target's max-schema.
    const newestFirst = [...diff.current].sort((a, b) => compareVersions(b.version, a.version));
    targetSchema = newestFirst.find((migration) => compareVersions(migration.version, ceiling) <= 0)?.version ?? '0';
    fromGit = newestFirst
      .filter((migration) => compareVersions(migration.version, ceiling) > 0)
      .map((migration) => migration.version);
    keptVersions = diff.pending
      .filter((migration) => compareVersions(migration.version, ceiling) <= 0)
      .map((migration) => migration.version);
  }

  const database = request.database;
  const currentSchema = database ? (database.history.current ?? '0') : releaseSchema;
  const revertSet = database
    ? await revertSetFromDatabase(request, checkout, database, targetSchema)
    : { versions: fromGit, stops: [], elsewhere: [] };
  const history = database?.history ?? historyFromGit(format, diff.current, releaseSchema);

  // The up file the release shipped (what ran), the down file of the checkout (what will run).
  const atCurrent = new Map(diff.current.map((migration) => [migration.version, migration]));
  const inCheckout = new Map(checkout.map((migration) => [migration.version, migration]));
  const elsewhere = new Map(revertSet.elsewhere.map((migration) => [migration.version, migration]));
  const migrationOf = (version: string): Migration[] => {
    const shipped = atCurrent.get(version) ?? inCheckout.get(version) ?? elsewhere.get(version);
    const runs = inCheckout.get(version) ?? shipped;
    return shipped && runs ? [{ ...shipped, down: runs.down }] : [];
  };
  const planned = await planMigrations([...revertSet.versions, ...keptVersions].flatMap(migrationOf), {
    targetTag: target.tag,
    currentRelease: new Set(atCurrent.keys()),
  });
  const toRevert = planned.filter((migration) => revertSet.versions.includes(migration.version));
  const revert = await planRevert(request, checkout, history, revertSet.versions);
  // A history the suite keeps (sql-files) starts from someone's word: apply-down-migrations checks the schema against it first.
  const statedHistory = migrationTool(format).statedHistory;
  if (database && statedHistory && revertSet.versions.length) {
    const problems = await statedHistory.check(database.client, checkout, history.current, revertSet.versions);
    if (problems.length)
      revert.problems.push(
        `the database is not at version ${history.current ?? 'none'} (${request.statedCurrent?.where ?? qualifiedName(database.table)}): ${problems.join(' ')}`,
      );
  }
  if (request.statedCurrent)
    warnings.push({
      kind: 'stated-version',
      message: `${qualifiedName(database?.table ?? request.historyTable)} does not exist yet (no revert has run on this database): its version ${request.statedCurrent.version} is taken from ${request.statedCurrent.where}. Give apply-down-migrations the same; it checks the schema against it and creates the table.`,
    });

  if (database && compareVersions(currentSchema, targetSchema) < 0) {
    warnings.push({
      kind: 'schema-behind',
      message: `The database is at version ${currentSchema}, below the ${targetSchema} that ${target.tag} needs: a rollback cannot migrate up; ${target.tag} may fail on this schema.`,
    });
  }
  if (entry && entry.minSchema !== undefined && compareVersions(currentSchema, entry.minSchema) < 0) {
    warnings.push({
      kind: 'compatibility',
      message: `The compatibility file says ${target.tag} needs schema ${entry.minSchema ?? 'any'}..${entry.maxSchema}, but the schema is only ${currentSchema}: a rollback cannot migrate up; check the matrix.`,
    });
  }
  return {
    source: database ? 'database' : 'git',
    currentSchema,
    targetSchema,
    toRevert,
    kept: planned.filter((migration) => keptVersions.includes(migration.version)),
    compatibility: entry && request.compatibility ? { file: request.compatibility.file, entry } : undefined,
    targetSchemaFrom: request.statedTarget?.where,
    compatibleNote:
      entry && toRevert.length === 0
        ? `The compatibility file says ${target.tag} (${entry.versions}) runs on schemas ${entry.minSchema ?? 'any'}..${entry.maxSchema}, which includes the current schema ${currentSchema}.`
        : undefined,
    warnings,
    stops: revertSet.stops,
    downProblems: revert.problems,
    downPlan: revert.plan,
    history,
    checkout,
  };
}

/**
 * The plan's identity for its digest, as the step that carries it out computes it from what it is
 * about to run: apply-down-migrations from the same checkout, restore-db from the backup it restores.
 */
export function planIdentity(schema: SchemaPlan | undefined, strategy: Strategy): PlanIdentity {
  if (!schema) return { strategy, targetVersion: '0', reverts: [] };
  if (schema.alembic) return alembicIdentity(schema.alembic, strategy, schema.currentSchema);
  if (strategy === 'down-migrations') {
    const versions = schema.toRevert.map((migration) => migration.version);
    return downIdentity(schema.checkout, versions, schema.downPlan ? schema.downPlan.toVersion : schema.targetSchema);
  }
  if (strategy === 'restore-backup')
    return {
      strategy,
      targetVersion: schema.targetSchema,
      reverts: restoreEntries(schema.history, schema.targetSchema),
    };
  return { strategy, targetVersion: schema.currentSchema, reverts: [] };
}

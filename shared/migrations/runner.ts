import type pg from 'pg';
import { ActionError, errorMessage } from '../errors.js';
import { connect, serverVersion, type PgTarget } from '../postgres/connection.js';
import { compareVersions, hasStatements, loadMigrations } from './formats.js';
import { versionsAbove } from './tools/common.js';

export { versionsAbove };
import {
  checkHistoryShape,
  DEFAULT_HISTORY_TABLES,
  golangMigrateForceCommand,
  historyTableShape,
  historyWriter,
  parseHistoryTable,
  qualifiedName,
  readHistory,
  type HistoryState,
  type HistoryTable,
} from './history.js';
import { acquireMigrationLock, lockSql, migrationLockKeys, unlockSql, type HeldLock, type LockKey } from './lock.js';
import { MigrationPlanError } from './plan-error.js';
import { migrationTool } from './tools/index.js';
import { directorySource } from './sources.js';
import { positionInScript, splitStatements, statementHeadline, type SqlStatement } from './statements.js';
import { findNonTransactionalStatements, transactionControl } from './transactions.js';
import type { Migration, MigrationFormat, MigrationScript } from './types.js';

/**
 * The one migration runner of the suite: plans and runs up and down migrations in each tool's
 * format, recording history exactly as that tool does, so the team's own tool keeps working after
 * us. A plan is a list of SQL texts; a dry run prints them and a real run executes the same texts
 * in the same order, so what was reviewed is what runs.
 *
 * Safety, per migration: the file's statements and its history update run in one transaction
 * (BEGIN ... COMMIT), unless the file cannot run in one (it opts out: dbmate `transaction:false`,
 * diesel `run_in_transaction = false`; or, for golang-migrate, which has no such switch, it holds a
 * statement PostgreSQL refuses in a transaction block, such as DROP INDEX CONCURRENTLY). Those run
 * statement by statement as the tool runs them, golang-migrate's dirty flag set first and cleared
 * after, so a failure half-way is visible to golang-migrate as it would be after its own run.
 */

export type Direction = 'up' | 'down';

export interface PlannedMigration {
  direction: Direction;
  version: string;
  name: string;
  /** The file, relative to the migrations directory; undefined for a history-only step. */
  file?: string;
  script?: MigrationScript;
  /** Statements run, in order (a file's own BEGIN/COMMIT around everything is folded into ours). */
  statements: SqlStatement[];
  /** The script as it runs, for the dry run (folded statements turned into comments). */
  displaySql: string;
  transactional: boolean;
  /** Why this migration runs differently, for logs and the summary. */
  notes: string[];
  /** Run before the statements, outside the migration's transaction (golang-migrate's dirty flag). */
  historyBefore: string[];
  /** The history update: inside the transaction, or after the statements when there is none. */
  historyAfter: string[];
  /** The version the history reports once this migration is done (golang-migrate: previous version). */
  versionAfter: string | null;
}

export interface MigrationPlan {
  format: MigrationFormat;
  table: HistoryTable;
  direction: Direction | 'none';
  fromVersion: string | null;
  toVersion: string | null;
  /** Creating the history table, for a first migration up. */
  setup: string[];
  migrations: PlannedMigration[];
}

export interface PlanOptions {
  format: MigrationFormat;
  table: HistoryTable;
  /** server_version_num: what may run in a transaction depends on it (ALTER TYPE ... ADD VALUE before 12). */
  serverVersionNum?: number;
  /** Versions whose missing or empty down file is intentional: reverted as a history-only step. */
  allowEmptyDown?: readonly string[];
  /** Directory named in messages and in `migrate force` commands. */
  migrationsDir?: string;
}

export { MigrationPlanError };

/**
 * The versions applied, oldest first, as the tool sees them. golang-migrate stores only the current
 * version, so everything at or below it in the directory counts as applied (its own model).
 */
export function appliedVersions(
  format: MigrationFormat,
  migrations: readonly Migration[],
  history: HistoryState,
  migrationsDir = 'migrations-dir',
): string[] {
  return migrationTool(format).appliedVersions(migrations, history, migrationsDir);
}

/** The refusal for golang-migrate's dirty flag, with the commands that resolve it. */
export function dirtyHistoryError(
  history: HistoryState,
  migrations: readonly Migration[],
  table: HistoryTable,
  migrationsDir: string,
): ActionError {
  const version = history.current ?? '-1';
  const versions = migrations.map((migration) => migration.version);
  const index = versions.indexOf(version);
  const previous = version === '-1' ? undefined : index > 0 ? versions[index - 1] : '-1';
  const next = version === '-1' ? versions[0] : index >= 0 ? versions[index + 1] : undefined;
  const options = [
    `  ${golangMigrateForceCommand(migrationsDir, version, table)}    # the schema is fully at version ${version}`,
    ...(next
      ? [
          `  ${golangMigrateForceCommand(migrationsDir, next, table)}    # a down migration from ${next} failed and left the schema at ${next}`,
        ]
      : []),
    ...(previous
      ? [
          `  ${golangMigrateForceCommand(migrationsDir, previous, table)}    # an up migration to ${version} failed and left the schema at ${previous === '-1' ? 'no version' : previous}`,
        ]
      : []),
  ];
  return new ActionError(
    `The history table ${table.schema}.${table.table} is dirty at version ${version}: a migration to version ${version} failed part-way ` +
      `(golang-migrate's dirty flag), so the schema may be half-changed. This run refuses to guess and changed nothing.`,
    {
      hint: `Inspect the schema, finish or undo the failed migration by hand, then record the version the schema is really at with one of:\n${options.join('\n')}\nand re-run this step.`,
    },
  );
}

function lineNote(script: MigrationScript, statement: SqlStatement): string {
  return `line ${script.line - 1 + statement.line}`;
}

/** Replaces spans of `text` (sorted, non-overlapping) and makes sure the last statement ends with a semicolon. */
function displayOf(
  script: MigrationScript,
  statements: SqlStatement[],
  folded: { statement: SqlStatement; comment: string }[],
): string {
  let text = script.sql;
  const edits: { start: number; end: number; replacement: string }[] = folded.map(({ statement, comment }) => ({
    start: statement.start,
    end: statement.end,
    replacement: `-- ${comment}`,
  }));
  const last = statements.at(-1);
  if (last && !last.text.trimEnd().endsWith(';')) edits.push({ start: last.end, end: last.end, replacement: ';' });
  for (const edit of edits.sort((a, b) => b.start - a.start))
    text = text.slice(0, edit.start) + edit.replacement + text.slice(edit.end);
  return text.trim();
}

interface PreparedScript {
  statements: SqlStatement[];
  displaySql: string;
  transactional: boolean;
  notes: string[];
  problem?: string;
}

/** Decides how a script runs: inside our transaction, or statement by statement as the tool would. */
async function prepareScript(
  script: MigrationScript,
  direction: Direction,
  options: PlanOptions,
): Promise<PreparedScript> {
  const statements = await splitStatements(script.sql);
  const notes: string[] = [];
  const nonTransactional = findNonTransactionalStatements(statements, options.serverVersionNum);
  const control = transactionControl(statements);
  const described = nonTransactional.map((found) => `${found.what} (${lineNote(script, found.statement)})`).join(', ');

  const policy = migrationTool(options.format).nonTransactional;
  if (!script.transactional && !policy.guardedByDirtyFlag) {
    notes.push(`runs outside a transaction: the file opts out (${policy.optedOut(direction)})`);
    return { statements, displaySql: displayOf(script, statements, []), transactional: false, notes };
  }
  if (nonTransactional.length > 0) {
    if (policy.guardedByDirtyFlag) {
      notes.push(
        `runs outside a transaction because it holds ${described}, which PostgreSQL refuses in a transaction block; golang-migrate's dirty flag guards it`,
      );
      return { statements, displaySql: displayOf(script, statements, []), transactional: false, notes };
    }
    const optOut = policy.howToOptOut(direction);
    return {
      statements,
      displaySql: '',
      transactional: true,
      notes,
      problem: `${script.file} holds ${described}, which cannot run inside a transaction, but the file does not opt out of one: ${optOut}.`,
    };
  }
  if (control.kind === 'wrapped') {
    notes.push(
      `its own BEGIN/COMMIT (${lineNote(script, control.begin)}, ${lineNote(script, control.commit)}) is folded into the migration's transaction`,
    );
    const inner = statements.filter((statement) => statement !== control.begin && statement !== control.commit);
    return {
      statements: inner,
      displaySql: displayOf(script, inner, [
        {
          statement: control.begin,
          comment: `${statementHeadline(control.begin)} (folded into this migration's transaction)`,
        },
        {
          statement: control.commit,
          comment: `${statementHeadline(control.commit)} (folded into this migration's transaction)`,
        },
      ]),
      transactional: true,
      notes,
    };
  }
  if (control.kind === 'own') {
    notes.push(
      `runs as written, outside our transaction: it manages its own transactions (${control.statements.map((statement) => `${statementHeadline(statement, 30)} at ${lineNote(script, statement)}`).join(', ')})`,
    );
    return { statements, displaySql: displayOf(script, statements, []), transactional: false, notes };
  }
  return { statements, displaySql: displayOf(script, statements, []), transactional: true, notes };
}

async function planned(
  direction: Direction,
  migration: Migration,
  script: MigrationScript | undefined,
  versionAfter: string | null,
  options: PlanOptions,
  problems: string[],
): Promise<PlannedMigration> {
  const writer = historyWriter(options.format, options.table);
  const prepared: PreparedScript = script
    ? await prepareScript(script, direction, options)
    : { statements: [], displaySql: '', transactional: true, notes: ['history only: no statements to run'] };
  if (prepared.problem) problems.push(prepared.problem);
  const historyUpdate =
    direction === 'up'
      ? writer.recordApplied(migration.version)
      : writer.recordReverted(migration.version, versionAfter);
  return {
    direction,
    version: migration.version,
    name: migration.name,
    file: script?.file,
    script,
    statements: prepared.statements,
    displaySql: prepared.displaySql,
    transactional: prepared.transactional,
    notes: prepared.notes,
    historyBefore: prepared.transactional
      ? []
      : writer.markDirty(direction === 'up' ? migration.version : versionAfter),
    historyAfter: historyUpdate,
    versionAfter,
  };
}

/**
 * Plans reverting `versions` (newest first). Every down file is checked before anything runs:
 * a version without a file, a missing or empty down file (unless allowed), a statement that cannot
 * run in a transaction in a file that does not opt out; all problems are reported together.
 */
export async function planDown(
  migrations: readonly Migration[],
  history: HistoryState,
  versions: readonly string[],
  options: PlanOptions,
): Promise<MigrationPlan> {
  const byVersion = new Map(migrations.map((migration) => [migration.version, migration]));
  const allowed = new Set(options.allowEmptyDown ?? []);
  const problems: string[] = [];
  const dir = options.migrationsDir ?? 'migrations-dir';
  const ordered = [...versions].sort((a, b) => compareVersions(b, a));
  const applied = appliedVersions(options.format, migrations, history, dir);
  let remaining = applied.filter((version) => !versions.includes(version));
  const plannedMigrations: PlannedMigration[] = [];

  for (const version of ordered) {
    const migration = byVersion.get(version);
    if (!migration) {
      problems.push(
        `Version ${version} is applied but ${dir} has no migration file for it (a tool that skipped it would revert the wrong migration).`,
      );
      continue;
    }
    const label = migration.down?.file ?? `version ${version} (${migration.name})`;
    if (!migration.down && !allowed.has(version)) {
      problems.push(
        `${describeMigration(migration, options.format)} has no down migration${migrationTool(options.format).missingDownPlace}.`,
      );
    } else if (migration.down && !hasStatements(migration.down) && !allowed.has(version)) {
      problems.push(`${label} is empty: reverting version ${version} would only rewrite the history, not the schema.`);
    }
    remaining = remaining.filter((other) => other !== version);
    const versionAfter = migrationTool(options.format).versionAfterRevert(migrations, migration, remaining);
    const script = migration.down && hasStatements(migration.down) ? migration.down : undefined;
    plannedMigrations.push(await planned('down', migration, script, versionAfter, options, problems));
  }
  if (problems.length > 0) {
    throw new MigrationPlanError(
      problems,
      allowed.size === 0 && problems.some((problem) => /no down migration|is empty/.test(problem))
        ? 'Write the missing down migrations in the newest release, or list the versions whose down migration is intentionally empty in allow-empty-down (their schema changes then stay in place), or restore the backup instead.'
        : undefined,
    );
  }
  return {
    format: options.format,
    table: options.table,
    direction: plannedMigrations.length ? 'down' : 'none',
    fromVersion: history.current,
    // Reverting everything ends at no version (null), not where it started.
    toVersion: plannedMigrations.length ? plannedMigrations.at(-1)!.versionAfter : history.current,
    setup: [],
    migrations: plannedMigrations,
  };
}

/** Plans applying every pending migration up to `toVersion` (null: all of them), oldest first. */
export async function planUp(
  migrations: readonly Migration[],
  history: HistoryState,
  toVersion: string | null,
  options: PlanOptions,
): Promise<MigrationPlan> {
  const applied = new Set(appliedVersions(options.format, migrations, history, options.migrationsDir));
  const pending = migrations.filter(
    (migration) =>
      !applied.has(migration.version) &&
      toVersion !== '0' &&
      (toVersion === null || compareVersions(migration.version, toVersion) <= 0),
  );
  const problems: string[] = [];
  const plannedMigrations: PlannedMigration[] = [];
  for (const migration of pending) {
    plannedMigrations.push(
      await planned(
        'up',
        migration,
        migration.up && hasStatements(migration.up) ? migration.up : undefined,
        migration.version,
        options,
        problems,
      ),
    );
  }
  if (problems.length > 0) throw new MigrationPlanError(problems);
  return {
    format: options.format,
    table: options.table,
    direction: plannedMigrations.length ? 'up' : 'none',
    fromVersion: history.current,
    toVersion: plannedMigrations.at(-1)?.versionAfter ?? history.current,
    setup: history.exists ? [] : historyWriter(options.format, options.table).createTable(),
    migrations: plannedMigrations,
  };
}

export function describeMigration(migration: Pick<Migration, 'version' | 'name'>, format: MigrationFormat): string {
  return `${migrationTool(format).migrationNoun} ${migration.version}${migration.name ? ` (${migration.name})` : ''}`;
}

export interface SessionSettings {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
}

/** What runs before the first migration: lock_timeout, the advisory lock, statement_timeout. */
export function sessionSetupSql(settings: SessionSettings, keys: readonly LockKey[]): string[] {
  return [
    `SET lock_timeout = ${Math.round(settings.lockTimeoutMs)};`,
    ...lockSql(keys),
    `SET statement_timeout = ${Math.round(settings.statementTimeoutMs)};`,
  ];
}

interface Unit {
  sql: string;
  kind: 'control' | 'history' | 'statement';
  /** Before the statements (golang-migrate's dirty flag), the statements, or the history update after. */
  phase: 'before' | 'body' | 'after';
  statement?: SqlStatement;
}

/** History statements outside the migration's transaction: in a transaction of their own when several (golang-migrate's SetVersion). */
function wrapped(statements: string[], phase: Unit['phase']): Unit[] {
  if (statements.length === 0) return [];
  const units = statements.map((sql): Unit => ({ sql, kind: 'history', phase }));
  return statements.length > 1
    ? [{ sql: 'BEGIN;', kind: 'control', phase }, ...units, { sql: 'COMMIT;', kind: 'control', phase }]
    : units;
}

function unitsOf(step: PlannedMigration): Unit[] {
  const body = step.statements.map((statement): Unit => ({
    sql: statement.text,
    kind: 'statement',
    phase: 'body',
    statement,
  }));
  if (step.transactional) {
    return [
      { sql: 'BEGIN;', kind: 'control', phase: 'body' },
      ...body,
      ...step.historyAfter.map((sql): Unit => ({ sql, kind: 'history', phase: 'after' })),
      { sql: 'COMMIT;', kind: 'control', phase: 'after' },
    ];
  }
  return [...wrapped(step.historyBefore, 'before'), ...body, ...wrapped(step.historyAfter, 'after')];
}

/**
 * The plan as one SQL script, in execution order: exactly the statements a real run sends (reads
 * of the history table left out), each migration's file shown as written. `psql -v ON_ERROR_STOP=1
 * -f` of this script does what the real run does.
 */
export function renderPlanSql(
  plan: MigrationPlan,
  settings: SessionSettings,
  keys: readonly LockKey[],
  header: string[] = [],
): string {
  const lines: string[] = [
    ...header.map((line) => `-- ${line}`),
    `-- ${plan.format} history ${qualifiedName(plan.table)}: version ${plan.fromVersion ?? 'none'} -> ${plan.toVersion ?? 'none'}, ${plan.migrations.length} migration(s) ${plan.direction === 'up' ? 'up' : 'down'}`,
    '-- Run by hand with: psql -v ON_ERROR_STOP=1 -f <this file>',
    ...sessionSetupSql(settings, keys),
    ...plan.setup,
  ];
  for (const step of plan.migrations) {
    lines.push(
      '',
      `-- ${step.direction} ${step.version}${step.name ? ` ${step.name}` : ''}${step.file ? `: ${step.file}` : ''}`,
    );
    for (const note of step.notes) lines.push(`-- note: ${note}`);
    let bodyShown = false;
    for (const unit of unitsOf(step)) {
      if (unit.kind !== 'statement') lines.push(unit.sql);
      else if (!bodyShown) {
        lines.push(step.displaySql);
        bodyShown = true;
      }
    }
  }
  lines.push('', ...unlockSql(keys));
  return `${lines.join('\n')}\n`;
}

export interface MigrationOutcome {
  direction: Direction;
  version: string;
  name: string;
  file?: string;
  durationMs: number;
  transactional: boolean;
  notes: string[];
}

export interface MigrationFailure {
  direction: Direction;
  version: string;
  name: string;
  file?: string;
  /** The statement that failed, as written in the file (or the history statement). */
  statement: string;
  /** Where in the file: 1-based; column only when PostgreSQL gave a position. */
  line?: number;
  column?: number;
  /** SQLSTATE, e.g. 42703, and the server's message, detail, hint and context. */
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  where?: string;
  /** Whether the migration's transaction was rolled back (nothing of it stayed). */
  rolledBack: boolean;
  /** What the history table says now and what that means, in a sentence. */
  historyState: string;
}

export interface RunHooks {
  onStart?(step: PlannedMigration): void;
  onDone?(outcome: MigrationOutcome): void;
  /** Once aborted, no further statement starts: the run stops as if the next one had failed. */
  signal?: AbortSignal;
}

export interface RunResult {
  completed: MigrationOutcome[];
  failure?: MigrationFailure;
}

interface PgError {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
}

function failureOf(
  step: PlannedMigration,
  unit: Unit,
  error: unknown,
  rolledBack: boolean,
  historyState: string,
): MigrationFailure {
  const pgError = error as PgError;
  const failure: MigrationFailure = {
    direction: step.direction,
    version: step.version,
    name: step.name,
    file: step.file,
    statement: unit.sql,
    code: pgError.code,
    message: errorMessage(error),
    detail: pgError.detail || undefined,
    hint: pgError.hint || undefined,
    where: pgError.where || undefined,
    rolledBack,
    historyState,
  };
  if (unit.kind === 'statement' && unit.statement && step.script) {
    const base = step.script.line - 1;
    const at = pgError.position
      ? positionInScript(unit.statement, step.script.sql, Number(pgError.position))
      : undefined;
    failure.line = base + (at?.line ?? unit.statement.line);
    if (at) failure.column = at.column;
  }
  return failure;
}

/**
 * Runs the plan's migrations on a client that holds the migration lock. Stops at the first failure
 * and reports it; migrations done before it stay committed and recorded.
 */
export async function runPlan(client: pg.Client, plan: MigrationPlan, hooks: RunHooks = {}): Promise<RunResult> {
  const completed: MigrationOutcome[] = [];
  for (const sql of plan.setup) await client.query(sql);
  for (const step of plan.migrations) {
    hooks.onStart?.(step);
    const started = process.hrtime.bigint();
    let inTransaction = false;
    // The dirty flag counts as set once every statement before the body has run (and committed).
    let dirtyMarked = false;
    for (const unit of unitsOf(step)) {
      if (unit.phase !== 'before' && step.historyBefore.length > 0) dirtyMarked = true;
      try {
        if (hooks.signal?.aborted) throw hooks.signal.reason;
        await client.query(unit.sql);
        if (unit.kind === 'control') inTransaction = unit.sql === 'BEGIN;';
      } catch (error) {
        if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
        const rolledBack = step.transactional;
        const history = historyStateAfterFailure(plan, step, rolledBack, dirtyMarked, unit);
        return { completed, failure: failureOf(step, unit, error, rolledBack, history) };
      }
    }
    const outcome: MigrationOutcome = {
      direction: step.direction,
      version: step.version,
      name: step.name,
      file: step.file,
      durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      transactional: step.transactional,
      notes: step.notes,
    };
    completed.push(outcome);
    hooks.onDone?.(outcome);
  }
  return { completed };
}

function historyStateAfterFailure(
  plan: MigrationPlan,
  step: PlannedMigration,
  rolledBack: boolean,
  dirtyMarked: boolean,
  unit: Unit,
): string {
  const before =
    step.direction === 'down'
      ? step.version
      : (plan.migrations[plan.migrations.indexOf(step) - 1]?.versionAfter ?? plan.fromVersion);
  if (rolledBack) {
    return `The migration's transaction was rolled back: the schema and the history are exactly as before it (version ${before ?? 'none'} applied${migrationTool(plan.format).keepsDirtyFlag ? ', not dirty' : ''}). Fix the file and re-run: the run resumes here.`;
  }
  if (migrationTool(plan.format).keepsDirtyFlag && dirtyMarked) {
    return `The migration ran outside a transaction and stopped part-way (at ${unit.kind === 'history' ? 'its history update' : 'a statement'}): the history is marked dirty at version ${step.versionAfter ?? '-1'}, as golang-migrate leaves it. Finish or undo the migration by hand, then record the real version with \`migrate force\` and re-run.`;
  }
  return `The migration ran outside a transaction and stopped part-way: statements before the failing one stayed applied, and the history still lists version ${step.direction === 'down' ? step.version : (before ?? 'none')} (${plan.format} keeps no dirty flag). Check the schema, finish or undo the migration by hand, then re-run.`;
}

// ---------------------------------------------------------------------------------------------
// Migrating a database to a version in one call: the verify step, tests, drills and the demo.
// ---------------------------------------------------------------------------------------------

export interface MigrateOptions {
  migrationsDir: string;
  format: MigrationFormat;
  /** "schema_migrations", "app.schema_migrations"; the format's default when absent. */
  historyTable?: string | HistoryTable;
  /** Version to end at; "0" for none; undefined for the newest. Up or down, whichever it takes. */
  to?: string;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  allowEmptyDown?: readonly string[];
  hooks?: RunHooks;
}

export interface MigrateResult {
  plan: MigrationPlan;
  completed: MigrationOutcome[];
  finalVersion: string | null;
}

/** Reads the history table under the lock, after checking its shape; refuses a dirty one. */
export async function readCheckedHistory(
  client: pg.Client,
  format: MigrationFormat,
  table: HistoryTable,
  migrations: readonly Migration[],
  migrationsDir: string,
): Promise<HistoryState> {
  const shape = await historyTableShape(client, table);
  if (shape) checkHistoryShape(shape, format, table);
  const history = await readHistory(client, format, table);
  if (history.dirty) throw dirtyHistoryError(history, migrations, table, migrationsDir);
  return history;
}

export class MigrationRunError extends ActionError {
  readonly failure: MigrationFailure;
  readonly completed: MigrationOutcome[];
  constructor(failure: MigrationFailure, completed: MigrationOutcome[]) {
    super(describeFailure(failure), { hint: failure.historyState });
    this.name = 'MigrationRunError';
    this.failure = failure;
    this.completed = completed;
  }
}

export function describeFailure(failure: MigrationFailure): string {
  const where = failure.file
    ? `${failure.file}${failure.line ? `:${failure.line}${failure.column ? `:${failure.column}` : ''}` : ''}`
    : `version ${failure.version}`;
  const extra = [
    failure.detail && `Detail: ${failure.detail}`,
    failure.hint && `Hint: ${failure.hint}`,
    failure.where && `Context: ${failure.where}`,
  ].filter(Boolean);
  return (
    `Migration ${failure.version}${failure.name ? ` (${failure.name})` : ''} failed ${failure.direction === 'down' ? 'to revert' : 'to apply'} at ${where}: ` +
    `ERROR${failure.code ? ` ${failure.code}` : ''}: ${failure.message}\nStatement: ${statementHeadline(failure.statement, 300)}${extra.length ? `\n${extra.join('\n')}` : ''}`
  );
}

/**
 * Brings the database to `to` with the runner: connects, takes the migration lock, plans, runs,
 * releases. Throws MigrationPlanError before changing anything, MigrationRunError on a failed
 * migration (earlier ones stay done).
 */
export async function migrateDatabase(target: PgTarget, options: MigrateOptions): Promise<MigrateResult> {
  const table =
    typeof options.historyTable === 'object'
      ? options.historyTable
      : parseHistoryTable(options.historyTable ?? DEFAULT_HISTORY_TABLES[options.format]);
  const migrations = await loadMigrations(directorySource(options.migrationsDir), options.format);
  const settings: SessionSettings = {
    lockTimeoutMs: options.lockTimeoutMs ?? 30_000,
    statementTimeoutMs: options.statementTimeoutMs ?? 0,
  };
  const client = await connect(target, { applicationName: 'rollback-actions migrate' });
  let lock: HeldLock | undefined;
  try {
    const server = await serverVersion(client);
    const keys = migrationLockKeys(target.database, table, options.format);
    lock = await acquireMigrationLock(client, keys, settings.lockTimeoutMs);
    await client.query(`SET statement_timeout = ${settings.statementTimeoutMs}`);
    const history = await readCheckedHistory(client, options.format, table, migrations, options.migrationsDir);
    const planOptions: PlanOptions = {
      format: options.format,
      table,
      serverVersionNum: server.num,
      allowEmptyDown: options.allowEmptyDown,
      migrationsDir: options.migrationsDir,
    };
    const to = options.to ?? null;
    if (to !== null && to !== '0' && !migrations.some((migration) => migration.version === to)) {
      throw new MigrationPlanError([`Version ${to} is not a migration in ${options.migrationsDir}.`]);
    }
    const applied = appliedVersions(options.format, migrations, history, options.migrationsDir);
    const toRevert = to === null ? [] : versionsAbove(applied, to);
    const plan =
      toRevert.length > 0
        ? await planDown(migrations, history, toRevert, planOptions)
        : await planUp(migrations, history, to, planOptions);
    const result = await runPlan(client, plan, options.hooks);
    if (result.failure) throw new MigrationRunError(result.failure, result.completed);
    const after = await readHistory(client, options.format, table);
    return { plan, completed: result.completed, finalVersion: after.current };
  } finally {
    await lock?.release();
    await client.end().catch(() => undefined);
  }
}

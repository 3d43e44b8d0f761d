import type pg from 'pg';
import type { HistoryState, HistoryWriter } from '../history.js';
import type { HistoryTable } from '../history-table.js';
import type { LockKey } from '../lock.js';
import type { FileSource, Migration, MigrationFormat } from '../types.js';

/**
 * Everything this suite knows about one migration tool, in one module per tool: adding a tool is one
 * module plus its fixtures. The runner, lock, backup gate, plan and summaries are shared and ask the
 * tool only what differs.
 */
export interface MigrationTool {
  readonly format: MigrationFormat;
  /** How messages name one of its migrations: "dbmate migration 20240101120000 (add_users)". */
  readonly migrationNoun: string;
  /** Where a missing down migration would be, for "has no down migration ..." messages. */
  readonly missingDownPlace: string;

  // Layout at a git ref or on disk.
  /**
   * The migrations in `files` (paths below the migrations directory), in any order. Their up and
   * down scripts are the SQL that runs and that the classifier sees.
   */
  load(source: FileSource, files: readonly string[]): Promise<Migration[]>;
  /** The version a file stands for, by its name only, or undefined when the tool ignores the file. */
  versionOfFile(file: string): string | undefined;

  // Version order and how users write versions.
  compareVersions(a: string, b: string): number;
  /** What target-version, plan entries and allow-empty-down accept ("0" is always "none"); description: "digits". */
  readonly versionInput: { pattern: RegExp; description: string };
  /** A version as users write it, as the history table stores it ("0042" is golang-migrate's 42). */
  normalizeVersion(version: string): string;

  // The history table, read and written exactly as the tool does.
  readonly defaultHistoryTable: string;
  /** Columns the tool's table has, and ones that say it is another tool's. */
  readonly historyColumns: readonly string[];
  readonly foreignHistoryColumns: readonly string[];
  /** Reads the table, which exists. */
  readHistory(client: pg.Client, table: HistoryTable): Promise<HistoryState>;
  historyWriter(table: HistoryTable): HistoryWriter;
  /** The applied versions, oldest first, as the tool sees them. */
  appliedVersions(migrations: readonly Migration[], history: HistoryState, migrationsDir: string): string[];
  /** The version the tool records after reverting `migration`, given the applied versions left. */
  versionAfterRevert(
    migrations: readonly Migration[],
    migration: Migration,
    remainingApplied: readonly string[],
  ): string | null;

  // The lock the tool itself takes, so our run and the tool's exclude each other.
  lockKeys(database: string, table: HistoryTable): LockKey[];

  // How a revert runs: these three tools' down SQL runs in our transaction, with the history rows
  // the tool writes. A statement PostgreSQL refuses in a transaction either runs guarded by the
  // tool's dirty flag or needs the file's own opt-out.
  readonly nonTransactional:
    | { guardedByDirtyFlag: true }
    | {
        guardedByDirtyFlag: false;
        optedOut(direction: 'up' | 'down'): string;
        howToOptOut(direction: 'up' | 'down'): string;
      };
  /** The tool keeps a dirty flag (golang-migrate) rather than a row per migration. */
  readonly keepsDirtyFlag: boolean;

  /**
   * For files no tool records (sql-files): the history is the suite's own, started from a version
   * someone states (current-version, or a compatibility file), which the database is checked against.
   */
  readonly statedHistory?: {
    /** Creates the table and records `version` as the schema's, before the first revert. */
    initialise(table: HistoryTable, version: string | null): string[];
    /** Why the database is not at `current` (empty when it looks to be), given the versions to revert. */
    check(
      client: pg.Client,
      migrations: readonly Migration[],
      current: string | null,
      reverting: readonly string[],
    ): Promise<string[]>;
  };
}

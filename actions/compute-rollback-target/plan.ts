import { classifySql, type MigrationClass, type StatementFinding } from '../../shared/migrations/classify.js';
import { lintDownMigration, type DownFinding } from '../../shared/migrations/down-lint.js';
import { hasStatements } from '../../shared/migrations/formats.js';
import { parseSql } from '../../shared/migrations/sql-parser.js';
import type { Migration } from '../../shared/migrations/types.js';

/**
 * One migration to revert, as the `migrations` output carries it. `version` is what
 * apply-down-migrations' `plan` input reads; the rest is the evidence for the strategy.
 */
export interface PlannedMigration {
  version: string;
  name: string;
  class: MigrationClass;
  /** Up file path relative to the migrations directory (dbmate: "file.sql (migrate:up)"). */
  up: string | null;
  down: string | null;
  /** present: has statements; empty: exists with nothing to run; missing: no down file at all. */
  downStatus: 'present' | 'empty' | 'missing';
  /** False when the down file opts out of a transaction (dbmate transaction:false, diesel run_in_transaction = false). */
  downTransactional: boolean | null;
  statements: StatementFinding[];
  /** What running the down file costs or gets wrong (data loss, parts it does not undo). */
  revertWarnings: DownFinding[];
}

export function migrationLabel(migration: Pick<PlannedMigration, 'version' | 'name'>): string {
  return migration.name ? `${migration.version} ${migration.name}` : migration.version;
}

export async function planMigration(migration: Migration): Promise<PlannedMigration> {
  // Classifying and linting both read the up file's parse tree; the WebAssembly parser runs once.
  const up = migration.up ? await parseSql(migration.up.sql) : undefined;
  const classification = up
    ? await classifySql(up)
    : { class: 'unknown' as const, statements: [{ sql: '', line: 0, class: 'unknown' as const, reasons: ['the up file is missing, so what it did is unknown; treated as breaking'] }] };
  const downStatus = !migration.down ? 'missing' : hasStatements(migration.down) ? 'present' : 'empty';
  const revertWarnings = downStatus === 'present' ? await lintDownMigration(up, migration.down!.sql, `since migration ${migrationLabel(migration)} was applied`) : [];
  return {
    version: migration.version,
    name: migration.name,
    class: classification.class,
    up: migration.up?.path ?? null,
    down: migration.down?.path ?? null,
    downStatus,
    downTransactional: migration.down ? migration.down.transactional : null,
    statements: classification.statements,
    revertWarnings,
  };
}

/** Classifies and lints each migration, keeping the newest-first order. */
export async function planMigrations(migrations: readonly Migration[]): Promise<PlannedMigration[]> {
  const planned: PlannedMigration[] = [];
  for (const migration of migrations) planned.push(await planMigration(migration));
  return planned;
}

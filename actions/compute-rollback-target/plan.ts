import {
  classifySql,
  sinceTarget,
  type MigrationClass,
  type SqlClassification,
  type StatementFinding,
} from '../../shared/migrations/classify.js';
import { lintDownMigration, type DownFinding } from '../../shared/migrations/down-lint.js';
import { compareVersions, hasStatements } from '../../shared/migrations/formats.js';
import { downScriptSha256 } from '../../shared/migrations/plan-digest.js';
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
  /** SHA-256 of the down script that would run (null when none would): part of the plan digest. */
  downSha256: string | null;
  /** False for a migration the database has applied that the current release does not have (an earlier image-only rollback, a hotfix). */
  inCurrentRelease: boolean;
  statements: StatementFinding[];
  /** Tables and columns whose data, present at the target, this migration destroyed. */
  dataLost: string[];
  /** What running the down file costs or gets wrong (data loss, parts it does not undo). */
  revertWarnings: DownFinding[];
  /** Where the class comes from, when it is not the up file's SQL (Alembic: the op.* calls of upgrade()). */
  classifiedFrom?: string;
}

export function migrationLabel(migration: Pick<PlannedMigration, 'version' | 'name'>): string {
  return migration.name ? `${migration.version} ${migration.name}` : migration.version;
}

/** Items for a sentence, the first ten of a long list and how many more: a verdict stays readable over 300 migrations. */
export function listed(items: readonly string[], shown = 10): string {
  return items.length > shown
    ? `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`
    : items.join(', ');
}

const MISSING_UP: SqlClassification = {
  class: 'unknown',
  statements: [
    {
      sql: '',
      line: 0,
      class: 'unknown',
      reasons: ['the up file is missing, so what it did is unknown; treated as breaking'],
    },
  ],
};

export interface PlanContext {
  /** How messages name the target release: "v1.1.0". */
  targetTag: string;
  /** Versions the current release has. */
  currentRelease: ReadonlySet<string>;
}

/**
 * Classifies and lints each migration against the target. They are read oldest first, so that what
 * one creates is known to the next (dropping a table created after the target loses nothing the
 * target had); the result is newest first, the order they are reverted in.
 */
export async function planMigrations(
  migrations: readonly Migration[],
  context: PlanContext,
): Promise<PlannedMigration[]> {
  const since = sinceTarget(context.targetTag);
  const planned: PlannedMigration[] = [];
  for (const migration of [...migrations].sort((a, b) => compareVersions(a.version, b.version))) {
    const label = `migration ${migrationLabel(migration)}`;
    // Classifying and linting both read the up file's parse tree; the WebAssembly parser runs once.
    const up = migration.up ? await parseSql(migration.up.sql) : undefined;
    const downStatus = !migration.down ? 'missing' : hasStatements(migration.down) ? 'present' : 'empty';
    const down = downStatus === 'present' ? await parseSql(migration.down!.sql) : undefined;
    const classification = up ? await classifySql(up, { since, label, down }) : MISSING_UP;
    planned.push({
      version: migration.version,
      name: migration.name,
      class: classification.class,
      up: migration.up?.path ?? null,
      down: migration.down?.path ?? null,
      downStatus,
      downTransactional: migration.down ? migration.down.transactional : null,
      downSha256: downScriptSha256(migration.down),
      inCurrentRelease: context.currentRelease.has(migration.version),
      statements: classification.statements,
      dataLost: [...new Set(classification.statements.flatMap((statement) => statement.lost ?? []))],
      revertWarnings: down ? await lintDownMigration(up, down, `since ${label} was applied`) : [],
    });
  }
  return planned.reverse();
}

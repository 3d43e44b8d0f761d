import type pg from 'pg';
import { ActionError, errorMessage } from '../errors.js';
import { withClient, type PgTarget } from '../postgres/connection.js';
import { tableRowCounts, withScratchDatabase } from '../postgres/databases.js';
import { findPgTool } from '../postgres/pg-tools.js';
import { dumpSchema, normalizeSchema, schemaDifferences } from '../postgres/schema.js';
import { historyTableShape, qualifiedName, readHistory, type HistoryShape, type HistoryTable } from './history.js';
import { migrateDatabase } from './runner.js';
import type { MigrationFormat } from './types.js';

/**
 * Checks a database against what its migrations say it should be at `version`: a scratch database
 * on the same server is migrated up to that version with the shared runner (the up files of the same
 * directory), then both schemas are dumped with pg_dump --schema-only, normalised (column order
 * ignored: a reverted ADD COLUMN that was re-added sits at the end of its table) and compared. The
 * history table is compared by shape (columns, types, primary key) and by the versions it lists,
 * not by its rows' timestamps. Row counts of the tables that were kept tell whether the down
 * migrations lost rows they should not have.
 */

export interface RowCountChange {
  table: string;
  before: number;
  after: number;
}

export interface VerifyResult {
  equal: boolean;
  /** Normalised schema statements only in the database, and only in the freshly migrated scratch database. */
  onlyInDatabase: string[];
  onlyInExpected: string[];
  historyShapeEqual: boolean;
  historyShape: { database?: HistoryShape; expected?: HistoryShape };
  historyVersions: { database: string[]; expected: string[]; equal: boolean };
  /** Tables kept whose row count went down (rows lost) or up (writes during the run). */
  rowsLost: RowCountChange[];
  rowsGained: RowCountChange[];
  /** Tables that the down migrations dropped, with the rows they held. */
  droppedTables: { table: string; rows: number }[];
  problems: string[];
  durationMs: number;
}

export interface VerifyOptions {
  target: PgTarget;
  migrationsDir: string;
  format: MigrationFormat;
  table: HistoryTable;
  /** Version the database should be at; null for none. */
  version: string | null;
  pgBinDir?: string;
  serverMajor: number;
  /** Row counts taken before the down migrations ran (tableRowCounts). */
  rowCountsBefore: Record<string, number>;
}

function historyKey(table: HistoryTable): string {
  return `${table.schema}.${table.table}`;
}

function sameShape(a: HistoryShape | undefined, b: HistoryShape | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function historyVersions(client: pg.Client, format: MigrationFormat, table: HistoryTable): Promise<string[]> {
  const state = await readHistory(client, format, table);
  return state.applied;
}

export async function verifyAgainstMigrations(options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const pgDump = await findPgTool('pg_dump', options.serverMajor, options.pgBinDir);
  const exclude = [qualifiedName(options.table)];

  const expected = await withScratchDatabase(options.target, 'rollback_verify', async (scratch) => {
    await migrateDatabase(scratch, {
      migrationsDir: options.migrationsDir,
      format: options.format,
      historyTable: options.table,
      to: options.version ?? '0',
    });
    const schema = await dumpSchema(scratch, pgDump.path, { excludeTables: exclude });
    return await withClient(scratch, async (client) => ({
      schema,
      shape: await historyTableShape(client, options.table),
      versions: await historyVersions(client, options.format, options.table),
    }));
  }).catch((error: unknown) => {
    if ((error as { code?: string }).code === '42501') {
      throw new ActionError(
        `verify needs a scratch database, but user "${options.target.user}" may not create databases: ${errorMessage(error)}.`,
        {
          hint: 'Run with a role that has CREATEDB, or set verify: false (the down migrations themselves have already run).',
        },
      );
    }
    throw error;
  });

  const databaseSchema = await dumpSchema(options.target, pgDump.path, { excludeTables: exclude });
  const actual = await withClient(options.target, async (client) => ({
    shape: await historyTableShape(client, options.table),
    versions: await historyVersions(client, options.format, options.table),
    counts: await tableRowCounts(client),
  }));

  const differences = schemaDifferences(
    normalizeSchema(databaseSchema, { ignoreColumnOrder: true }),
    normalizeSchema(expected.schema, { ignoreColumnOrder: true }),
  );
  const historyShapeEqual = sameShape(actual.shape, expected.shape);
  const versionsEqual = JSON.stringify(actual.versions) === JSON.stringify(expected.versions);

  const rowsLost: RowCountChange[] = [];
  const rowsGained: RowCountChange[] = [];
  const droppedTables: { table: string; rows: number }[] = [];
  for (const [table, before] of Object.entries(options.rowCountsBefore)) {
    if (table === historyKey(options.table)) continue;
    const after = actual.counts[table];
    if (after === undefined) droppedTables.push({ table, rows: before });
    else if (after < before) rowsLost.push({ table, before, after });
    else if (after > before) rowsGained.push({ table, before, after });
  }

  const problems: string[] = [];
  if (differences.onlyInFirst.length || differences.onlyInSecond.length) {
    problems.push(
      `the schema differs from a database migrated up to version ${options.version ?? 'none'}: ${differences.onlyInFirst.length} statement(s) only in the database, ${differences.onlyInSecond.length} only in the expected schema`,
    );
  }
  if (!historyShapeEqual)
    problems.push(`the history table ${historyKey(options.table)} does not have the shape ${options.format} gives it`);
  if (!versionsEqual)
    problems.push(
      `the history lists ${actual.versions.join(', ') || 'nothing'}, but migrating up to ${options.version ?? 'none'} records ${expected.versions.join(', ') || 'nothing'}`,
    );
  for (const change of rowsLost)
    problems.push(`table ${change.table} kept its place but lost rows: ${change.before} before, ${change.after} after`);

  return {
    equal: problems.length === 0,
    onlyInDatabase: differences.onlyInFirst,
    onlyInExpected: differences.onlyInSecond,
    historyShapeEqual,
    historyShape: { database: actual.shape, expected: expected.shape },
    historyVersions: { database: actual.versions, expected: expected.versions, equal: versionsEqual },
    rowsLost,
    rowsGained,
    droppedTables,
    problems,
    durationMs: Date.now() - started,
  };
}

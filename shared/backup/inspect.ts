import type pg from 'pg';
import { detectSchemaVersion } from '../migrations/detect-history.js';
import { quoteIdent } from '../postgres/connection.js';
import { countRows, ordinaryTables, tableRowCounts, type OrdinaryTable } from '../postgres/databases.js';

/**
 * What a restored database is checked against its backup's metadata with: exact row counts,
 * foreign keys that really hold (every referencing row finds its referenced row), and the
 * migration history version.
 */
export interface ForeignKeyCheck {
  constraint: string;
  table: string;
  references: string;
  validated: boolean;
  violations: number;
}

export interface RestoredState {
  /** Exact row counts (count(*)). */
  rowCounts: Record<string, number>;
  /** Tables above the size limit of inspectDatabase: PostgreSQL's estimate (pg_class.reltuples), labelled as such. */
  estimatedRowCounts?: Record<string, number>;
  foreignKeys: ForeignKeyCheck[];
  schemaVersion: string | null;
  schemaVersionTool: string | null;
}

export interface Comparison {
  rowCountMismatches: { table: string; expected: number; actual: number | null }[];
  foreignKeyViolations: ForeignKeyCheck[];
  schemaVersionMismatch: { expected: string | null; actual: string | null } | null;
}

interface ForeignKeyRow {
  name: string;
  child_schema: string;
  child_table: string;
  child_columns: string[];
  parent_schema: string;
  parent_table: string;
  parent_columns: string[];
  match_full: boolean;
  validated: boolean;
}

/** Counts the rows that break each foreign key (MATCH SIMPLE: rows with a NULL key column are exempt). */
export async function checkForeignKeys(client: pg.Client): Promise<ForeignKeyCheck[]> {
  const { rows } = await client.query<ForeignKeyRow>(
    `SELECT con.conname AS name,
            cn.nspname AS child_schema, cc.relname AS child_table,
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i)::text[] AS child_columns,
            pn.nspname AS parent_schema, pc.relname AS parent_table,
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i)::text[] AS parent_columns,
            con.confmatchtype = 'f' AS match_full, con.convalidated AS validated
       FROM pg_constraint con
       JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
       JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE con.contype = 'f' AND con.conparentid = 0
      ORDER BY 2, 3, 1`,
  );
  const checks: ForeignKeyCheck[] = [];
  for (const fk of rows) {
    const child = `${quoteIdent(fk.child_schema)}.${quoteIdent(fk.child_table)}`;
    const parent = `${quoteIdent(fk.parent_schema)}.${quoteIdent(fk.parent_table)}`;
    const childCols = fk.child_columns.map((column) => `c.${quoteIdent(column)}`);
    const joins = fk.child_columns
      .map((column, index) => `p.${quoteIdent(fk.parent_columns[index])} = c.${quoteIdent(column)}`)
      .join(' AND ');
    const allSet = childCols.map((column) => `${column} IS NOT NULL`).join(' AND ');
    const someSet = childCols.map((column) => `${column} IS NOT NULL`).join(' OR ');
    // MATCH FULL also forbids keys that are only partly NULL.
    const where = fk.match_full
      ? `(${allSet} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${joins})) OR ((${someSet}) AND NOT (${allSet}))`
      : `${allSet} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${joins})`;
    const { rows: counted } = await client.query<{ violations: string }>(
      `SELECT count(*) AS violations FROM ${child} c WHERE ${where}`,
    );
    checks.push({
      constraint: fk.name,
      table: `${fk.child_schema}.${fk.child_table}`,
      references: `${fk.parent_schema}.${fk.parent_table}`,
      validated: fk.validated,
      violations: Number(counted[0].violations),
    });
  }
  return checks;
}

/**
 * Row counts of every ordinary table: exact for tables with at most `maxDataBytes` of data (heap and
 * TOAST), PostgreSQL's estimate above. After a physical restore the first full scan of a table also
 * sets its hint bits, writing every page once: on a large database that, not the restore, is most
 * of the time the check takes.
 */
async function sizeLimitedRowCounts(
  client: pg.Client,
  maxDataBytes: number,
): Promise<{ exact: Record<string, number>; estimated: Record<string, number> }> {
  const rows = await ordinaryTables(client);
  // A table never vacuumed nor analyzed has no estimate (reltuples -1): it is counted whatever its size.
  const isEstimated = (row: OrdinaryTable) => Number(row.data_bytes) > maxDataBytes && row.estimate >= 0;
  const exact = await countRows(
    client,
    rows.filter((row) => !isEstimated(row)),
  );
  const estimated = Object.fromEntries(
    rows.filter(isEstimated).map((row) => [`${row.schema}.${row.name}`, Math.round(row.estimate)]),
  );
  return { exact, estimated };
}

/** The restored database's row counts, foreign keys and schema version; see sizeLimitedRowCounts for `rowCountMaxBytes`. */
export async function inspectDatabase(
  client: pg.Client,
  options: { rowCountMaxBytes?: number } = {},
): Promise<RestoredState> {
  const counted =
    options.rowCountMaxBytes === undefined
      ? { exact: await tableRowCounts(client), estimated: {} }
      : await sizeLimitedRowCounts(client, options.rowCountMaxBytes);
  const foreignKeys = await checkForeignKeys(client);
  const history = await detectSchemaVersion(client);
  return {
    rowCounts: counted.exact,
    ...(Object.keys(counted.estimated).length ? { estimatedRowCounts: counted.estimated } : {}),
    foreignKeys,
    schemaVersion: history?.version ?? null,
    schemaVersionTool: history?.format ?? null,
  };
}

export function compareWithBackup(
  state: RestoredState,
  expected: { rowCounts: Record<string, number>; schemaVersion: string | null },
): Comparison {
  const rowCountMismatches = Object.entries(expected.rowCounts)
    .filter(([table, count]) => state.rowCounts[table] !== count)
    .map(([table, count]) => ({ table, expected: count, actual: state.rowCounts[table] ?? null }));
  // Constraints that were NOT VALID in the source may legitimately have violating rows.
  const foreignKeyViolations = state.foreignKeys.filter((fk) => fk.validated && fk.violations > 0);
  const schemaVersionMismatch =
    state.schemaVersion === expected.schemaVersion
      ? null
      : { expected: expected.schemaVersion, actual: state.schemaVersion };
  return { rowCountMismatches, foreignKeyViolations, schemaVersionMismatch };
}

export function describeComparison(comparison: Comparison): string[] {
  const lines: string[] = [];
  for (const mismatch of comparison.rowCountMismatches) {
    lines.push(
      `${mismatch.table}: ${mismatch.actual === null ? 'missing' : `${mismatch.actual} rows`}, the backup has ${mismatch.expected}`,
    );
  }
  for (const fk of comparison.foreignKeyViolations) {
    lines.push(
      `foreign key ${fk.constraint} on ${fk.table} -> ${fk.references}: ${fk.violations} row(s) reference nothing`,
    );
  }
  if (comparison.schemaVersionMismatch) {
    lines.push(
      `migration version ${comparison.schemaVersionMismatch.actual ?? '(none)'}, the backup has ${comparison.schemaVersionMismatch.expected ?? '(none)'}`,
    );
  }
  return lines;
}

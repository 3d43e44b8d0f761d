import type pg from 'pg';
import { InputError } from '../errors.js';
import { historyTableExists, qualifiedName, type HistoryTable } from './history-table.js';
import { migrationTool } from './tools/index.js';
import { MIGRATION_FORMATS, type MigrationFormat } from './types.js';

export { historyTableExists, parseHistoryTable, qualifiedName, type HistoryTable } from './history-table.js';

/**
 * Each tool's own history table, read and written in the tool's own shape by its module in tools/;
 * what is common to all of them is here.
 */

export const DEFAULT_HISTORY_TABLES = Object.fromEntries(
  MIGRATION_FORMATS.map((format) => [format, migrationTool(format).defaultHistoryTable]),
) as Record<MigrationFormat, string>;

export interface HistoryState {
  exists: boolean;
  /** Applied versions, oldest first (golang-migrate only knows the latest: a one-element list). */
  applied: string[];
  /** The newest applied version, or null when nothing is applied. */
  current: string | null;
  /** golang-migrate's flag for "a migration failed half-way; fix by hand, then `migrate force`". */
  dirty: boolean;
}

export async function readHistory(
  client: pg.Client,
  format: MigrationFormat,
  table: HistoryTable,
): Promise<HistoryState> {
  if (!(await historyTableExists(client, table))) return { exists: false, applied: [], current: null, dirty: false };
  return migrationTool(format).readHistory(client, table);
}

// The write side: the statements each tool itself runs on its history table (its module in tools/
// cites the tool's source), as literal SQL so a dry run can print exactly what a real run executes.

export interface HistoryWriter {
  /** The tool's own CREATE TABLE (and CREATE SCHEMA for a non-public schema), for a first migration up. */
  createTable(): string[];
  /** After an up migration of `version`. */
  recordApplied(version: string): string[];
  /** After a down migration of `version`; `versionAfter` is what golang-migrate records (the previous version, or null). */
  recordReverted(version: string, versionAfter: string | null): string[];
  /**
   * Before a migration that runs outside a transaction: golang-migrate's dirty marker at the version
   * the migration leads to. Empty for tools that have no such marker.
   */
  markDirty(targetVersion: string | null): string[];
}

export function historyWriter(format: MigrationFormat, table: HistoryTable): HistoryWriter {
  return migrationTool(format).historyWriter(table);
}

export interface HistoryColumn {
  name: string;
  type: string;
  nullable: boolean;
}

export interface HistoryShape {
  columns: HistoryColumn[];
  primaryKey: string[];
}

/** Columns (name, base type without length, nullability) and primary key of the history table. */
export async function historyTableShape(client: pg.Client, table: HistoryTable): Promise<HistoryShape | undefined> {
  if (!(await historyTableExists(client, table))) return undefined;
  const { rows } = await client.query<{ name: string; type: string; nullable: boolean }>(
    `SELECT a.attname AS name, t.typname AS type, NOT a.attnotnull AS nullable
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attname`,
    [qualifiedName(table)],
  );
  const { rows: keys } = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attname`,
    [qualifiedName(table)],
  );
  return { columns: rows, primaryKey: keys.map((key) => key.name) };
}

function looksLikeTool(format: MigrationFormat, names: readonly string[]): boolean {
  const tool = migrationTool(format);
  return (
    tool.historyColumns.every((column) => names.includes(column)) &&
    !tool.foreignHistoryColumns.some((column) => names.includes(column))
  );
}

/**
 * Refuses a history table that is not the shape of `format`'s (a dbmate table read as
 * golang-migrate's would lose every row but one), naming the format it looks like instead.
 */
export function checkHistoryShape(shape: HistoryShape, format: MigrationFormat, table: HistoryTable): void {
  const names = shape.columns.map((column) => column.name).sort();
  const expected = migrationTool(format).historyColumns;
  if (looksLikeTool(format, names)) return;
  const looksLike = MIGRATION_FORMATS.find((other) => other !== format && looksLikeTool(other, names));
  throw new InputError(
    'migrations-format',
    `is "${format}", but the history table ${table.schema}.${table.table} has columns (${names.join(', ')}), not ${format}'s (${expected.join(', ')})${looksLike ? `: it looks like ${looksLike}'s` : ''}. Nothing was changed.`,
    {
      hint: looksLike
        ? `Set migrations-format: ${looksLike}, or point history-table at ${format}'s table.`
        : 'Point history-table at the table your migration tool keeps.',
    },
  );
}

/** The `migrate force` command line golang-migrate's own docs prescribe for a dirty database. */
export function golangMigrateForceCommand(migrationsDir: string, version: string, table: HistoryTable): string {
  const tableOption =
    table.schema === 'public' && table.table === 'schema_migrations'
      ? ''
      : ` (add x-migrations-table=${table.table} to the URL${table.schema === 'public' ? '' : `, with search_path=${table.schema}`})`;
  return `migrate -path ${migrationsDir} -database "$DATABASE_URL" force ${version}${tableOption}`;
}

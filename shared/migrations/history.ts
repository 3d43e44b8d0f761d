import type pg from 'pg';
import { InputError } from '../errors.js';
import { quoteIdent } from '../postgres/connection.js';
import { compareVersions } from './formats.js';
import type { MigrationFormat } from './types.js';

/**
 * Reading each tool's own history table, in the tool's own shape:
 * - golang-migrate: schema_migrations(version bigint, dirty boolean), a single row;
 * - dbmate: schema_migrations(version varchar primary key), one row per applied migration;
 * - diesel: __diesel_schema_migrations(version varchar(50) primary key, run_on timestamp), one row each.
 */

export interface HistoryTable {
  schema: string;
  table: string;
}

export const DEFAULT_HISTORY_TABLES: Record<MigrationFormat, string> = {
  'golang-migrate': 'schema_migrations',
  dbmate: 'schema_migrations',
  diesel: '__diesel_schema_migrations',
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** "schema_migrations" or "app.schema_migrations" (schema defaults to public). */
export function parseHistoryTable(text: string, inputName = 'history-table'): HistoryTable {
  const parts = text.split('.');
  if (parts.length > 2 || parts.some((part) => !IDENTIFIER.test(part))) {
    throw new InputError(inputName, `must be a table name such as schema_migrations or app.schema_migrations; got "${text}".`);
  }
  return parts.length === 2 ? { schema: parts[0], table: parts[1] } : { schema: 'public', table: parts[0] };
}

export function qualifiedName(table: HistoryTable): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
}

export interface HistoryState {
  exists: boolean;
  /** Applied versions, oldest first (golang-migrate only knows the latest: a one-element list). */
  applied: string[];
  /** The newest applied version, or null when nothing is applied. */
  current: string | null;
  /** golang-migrate's flag for "a migration failed half-way; fix by hand, then `migrate force`". */
  dirty: boolean;
}

export async function historyTableExists(client: pg.Client, table: HistoryTable): Promise<boolean> {
  const { rows } = await client.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [qualifiedName(table)]);
  return rows[0].found !== null;
}

export async function readHistory(client: pg.Client, format: MigrationFormat, table: HistoryTable): Promise<HistoryState> {
  if (!(await historyTableExists(client, table))) return { exists: false, applied: [], current: null, dirty: false };
  const name = qualifiedName(table);
  if (format === 'golang-migrate') {
    const { rows } = await client.query<{ version: string; dirty: boolean }>(`SELECT version::text AS version, dirty FROM ${name}`);
    if (rows.length === 0) return { exists: true, applied: [], current: null, dirty: false };
    return { exists: true, applied: [rows[0].version], current: rows[0].version, dirty: rows[0].dirty };
  }
  const { rows } = await client.query<{ version: string }>(`SELECT version::text AS version FROM ${name}`);
  const applied = rows.map((row) => row.version).sort(compareVersions);
  return { exists: true, applied, current: applied.at(-1) ?? null, dirty: false };
}

export interface DetectedHistory {
  format: MigrationFormat;
  table: string;
  version: string | null;
  dirty: boolean;
}

/**
 * Finds a known history table in the public schema and reads its version, for backup metadata and
 * restore checks where nobody said which tool the team uses.
 */
export async function detectSchemaVersion(client: pg.Client): Promise<DetectedHistory | undefined> {
  const { rows } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name IN ('schema_migrations', '__diesel_schema_migrations')`,
  );
  const columns = (table: string) => rows.filter((row) => row.table_name === table).map((row) => row.column_name);
  let format: MigrationFormat | undefined;
  let tableName = 'schema_migrations';
  if (columns('__diesel_schema_migrations').includes('version')) {
    format = 'diesel';
    tableName = '__diesel_schema_migrations';
  } else if (columns('schema_migrations').includes('dirty')) format = 'golang-migrate';
  else if (columns('schema_migrations').includes('version')) format = 'dbmate';
  if (!format) return undefined;
  const state = await readHistory(client, format, { schema: 'public', table: tableName });
  return { format, table: `public.${tableName}`, version: state.current, dirty: state.dirty };
}

// ---------------------------------------------------------------------------------------------
// The write side: the statements each tool itself runs on its history table, as literal SQL so a
// dry run can print exactly what a real run executes.
//
// - golang-migrate (database/postgres/postgres.go, SetVersion): in one transaction
//   `TRUNCATE "schema"."table"` then, unless the version is nil and clean,
//   `INSERT INTO "schema"."table" (version, dirty) VALUES ($1, $2)`; a failed down migration of the
//   first version leaves version -1 dirty (golang-migrate issue 330). migrate.go runMigrations calls
//   SetVersion(target, true) before running a migration and SetVersion(target, false) after it,
//   where a down migration's target is the previous version in the migrations directory (or nil,
//   which leaves the table empty). The table: `CREATE TABLE IF NOT EXISTS "schema"."table"
//   (version bigint not null primary key, dirty boolean not null)` (ensureVersionTable).
// - dbmate (pkg/driver/postgres/postgres.go): `insert into <table> (version) values ($1)` after an up,
//   `delete from <table> where version = $1` after a down, each in the migration's transaction
//   unless the section says transaction:false (pkg/dbmate/db.go Migrate/Rollback). The table:
//   `create table if not exists <table> (version varchar primary key)` (varchar(255) before 2.x;
//   the 128 seen in dbmate dumps is its SQLite driver).
// - diesel (diesel_migrations migration_harness.rs run_migration/revert_migration):
//   `INSERT INTO __diesel_schema_migrations (version) VALUES ($1)` / `DELETE ... WHERE version = $1`,
//   inside the migration's transaction unless metadata.toml says run_in_transaction = false. The
//   table (diesel_migrations/src/migration/setup_migration_table.sql): `(version VARCHAR(50) PRIMARY
//   KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`.
// ---------------------------------------------------------------------------------------------

export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

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

function golangVersion(version: string): string {
  if (!/^-?[0-9]+$/.test(version)) throw new InputError('target-version', `"${version}" is not a golang-migrate version (digits).`);
  return String(BigInt(version));
}

export function historyWriter(format: MigrationFormat, table: HistoryTable): HistoryWriter {
  const name = qualifiedName(table);
  const createSchema = table.schema === 'public' ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(table.schema)};`];
  if (format === 'golang-migrate') {
    const set = (version: string | null, dirty: boolean) => [
      `TRUNCATE ${name};`,
      ...(version === null && !dirty ? [] : [`INSERT INTO ${name} (version, dirty) VALUES (${version === null ? '-1' : golangVersion(version)}, ${dirty});`]),
    ];
    return {
      createTable: () => [...createSchema, `CREATE TABLE IF NOT EXISTS ${name} (version bigint not null primary key, dirty boolean not null);`],
      recordApplied: (version) => set(version, false),
      recordReverted: (_version, versionAfter) => set(versionAfter, false),
      markDirty: (targetVersion) => set(targetVersion, true),
    };
  }
  const createTable =
    format === 'dbmate'
      ? `CREATE TABLE IF NOT EXISTS ${name} (version varchar primary key);`
      : `CREATE TABLE IF NOT EXISTS ${name} (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);`;
  return {
    createTable: () => [...createSchema, createTable],
    recordApplied: (version) => [`INSERT INTO ${name} (version) VALUES (${sqlLiteral(version)});`],
    recordReverted: (version) => [`DELETE FROM ${name} WHERE version = ${sqlLiteral(version)};`],
    markDirty: () => [],
  };
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

const EXPECTED_COLUMNS: Record<MigrationFormat, string[]> = {
  'golang-migrate': ['dirty', 'version'],
  dbmate: ['version'],
  diesel: ['run_on', 'version'],
};

/**
 * Refuses a history table that is not the shape of `format`'s (a dbmate table read as
 * golang-migrate's would lose every row but one), naming the format it looks like instead.
 */
export function checkHistoryShape(shape: HistoryShape, format: MigrationFormat, table: HistoryTable): void {
  const names = shape.columns.map((column) => column.name).sort();
  const expected = EXPECTED_COLUMNS[format];
  if (expected.every((column) => names.includes(column)) && (format !== 'dbmate' || !names.includes('dirty'))) return;
  const looksLike = (Object.keys(EXPECTED_COLUMNS) as MigrationFormat[]).find(
    (other) => other !== format && EXPECTED_COLUMNS[other].every((column) => names.includes(column)) && (other !== 'dbmate' || !names.includes('dirty')),
  );
  throw new InputError(
    'migrations-format',
    `is "${format}", but the history table ${table.schema}.${table.table} has columns (${names.join(', ')}), not ${format}'s (${expected.join(', ')})${looksLike ? `: it looks like ${looksLike}'s` : ''}. Nothing was changed.`,
    { hint: looksLike ? `Set migrations-format: ${looksLike}, or point history-table at ${format}'s table.` : 'Point history-table at the table your migration tool keeps.' },
  );
}

/** The `migrate force` command line golang-migrate's own docs prescribe for a dirty database. */
export function golangMigrateForceCommand(migrationsDir: string, version: string, table: HistoryTable): string {
  const tableOption = table.schema === 'public' && table.table === 'schema_migrations' ? '' : ` (add x-migrations-table=${table.table} to the URL${table.schema === 'public' ? '' : `, with search_path=${table.schema}`})`;
  return `migrate -path ${migrationsDir} -database "$DATABASE_URL" force ${version}${tableOption}`;
}

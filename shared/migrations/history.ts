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

import type pg from 'pg';
import { qualifiedName } from './history-table.js';
import { dbmate } from './tools/dbmate.js';
import { diesel } from './tools/diesel.js';
import { golangMigrate } from './tools/golang-migrate.js';
import { prisma } from './tools/prisma.js';

/**
 * Which tool's history a database holds, for backup metadata and restore checks: backup-db and
 * restore-db need only this, so it reads the tables it knows through their own tool modules and
 * not the registry (tools/index.ts), whose sql-files module brings the SQL parser into the bundle.
 */

/** The formats whose history table detectSchemaVersion recognises, read by their own modules. */
const READERS = { 'golang-migrate': golangMigrate, dbmate, diesel, prisma } as const;

export interface DetectedHistory {
  /** The tool whose table it is: a SQL-file tool, or Alembic (alembic_version). */
  format: keyof typeof READERS | 'alembic';
  table: string;
  /** The current version; Alembic's heads joined with "," (two on a branched graph). */
  version: string | null;
  /** The applied versions as the table records them, oldest first (Alembic: its heads, sorted). */
  applied: string[];
  dirty: boolean;
}

/** Known history tables in the public schema, first match wins, and the column that says whose it is. */
const DETECTED: readonly { table: string; column: string; format: keyof typeof READERS | 'alembic' }[] = [
  { table: '__diesel_schema_migrations', column: 'version', format: 'diesel' },
  { table: 'schema_migrations', column: 'dirty', format: 'golang-migrate' },
  { table: 'schema_migrations', column: 'version', format: 'dbmate' },
  { table: '_prisma_migrations', column: 'migration_name', format: 'prisma' },
  { table: 'alembic_version', column: 'version_num', format: 'alembic' },
];

/**
 * Finds a known history table in the public schema and reads its version, for backup metadata and
 * restore checks where nobody said which tool the team uses.
 */
export async function detectSchemaVersion(client: pg.Client): Promise<DetectedHistory | undefined> {
  const { rows } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = ANY($1)`,
    [[...new Set(DETECTED.map((entry) => entry.table))]],
  );
  const found = DETECTED.find((entry) =>
    rows.some((row) => row.table_name === entry.table && row.column_name === entry.column),
  );
  if (!found) return undefined;
  const table = { schema: 'public', table: found.table };
  if (found.format === 'alembic') {
    const { rows: heads } = await client.query<{ version_num: string }>(
      `SELECT version_num FROM ${qualifiedName(table)} ORDER BY version_num`,
    );
    const applied = heads.map((row) => row.version_num);
    return {
      format: 'alembic',
      table: `public.${found.table}`,
      version: applied.join(',') || null,
      applied,
      dirty: false,
    };
  }
  const state = await READERS[found.format].readHistory(client, table);
  return {
    format: found.format,
    table: `public.${found.table}`,
    version: state.current,
    applied: state.applied,
    dirty: state.dirty,
  };
}

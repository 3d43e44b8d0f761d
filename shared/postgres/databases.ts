import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent, withClient, withDatabase, type PgTarget } from './connection.js';

/**
 * Creating and dropping whole databases on the target's server: scratch databases for verifying a
 * restore or a migration, and restores into a new database. Connects to the maintenance database.
 */
export function maintenanceTarget(target: PgTarget): PgTarget {
  return withDatabase(target, target.database === 'postgres' ? 'template1' : 'postgres');
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

/**
 * `name` when no database has it, else `name_2`, `name_3`…: names made from a timestamp to the second
 * meet when two restores start in the same second.
 */
export async function firstFreeDatabaseName(client: pg.Client, name: string): Promise<string> {
  for (let attempt = 1; attempt <= 100; attempt++) {
    const suffix = attempt === 1 ? '' : `_${attempt}`;
    const candidate = `${name.slice(0, 63 - suffix.length)}${suffix}`;
    if (!(await databaseExists(client, candidate))) return candidate;
  }
  throw new Error(`No free database name like "${name}" (tried ${name} to ${name}_100).`);
}

export async function createDatabase(
  target: PgTarget,
  name: string,
  options: { template?: string } = {},
): Promise<PgTarget> {
  await withClient(maintenanceTarget(target), async (client) => {
    const template = options.template ? ` TEMPLATE ${quoteIdent(options.template)}` : '';
    await client.query(`CREATE DATABASE ${quoteIdent(name)}${template}`);
  });
  return withDatabase(target, name);
}

/** Drops a database, disconnecting its sessions (WITH (FORCE), PostgreSQL 13+). */
export async function dropDatabase(target: PgTarget, name: string): Promise<void> {
  await withClient(maintenanceTarget(target), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}

/** A uniquely named scratch database; `drop` is safe to call more than once. */
export async function withScratchDatabase<T>(
  target: PgTarget,
  prefix: string,
  fn: (scratch: PgTarget) => Promise<T>,
): Promise<T> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.slice(0, 63);
  const scratch = await createDatabase(target, name);
  try {
    return await fn(scratch);
  } finally {
    await dropDatabase(target, name);
  }
}

/** Exact row counts, keyed "schema.table", one query after the other in the order given. */
export async function countRows(
  client: pg.Client,
  tables: readonly { schema: string; name: string }[],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const { rows } = await client.query<{ count: string }>(
      `SELECT count(*) AS count FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`,
    );
    counts[`${table.schema}.${table.name}`] = Number(rows[0].count);
  }
  return counts;
}

/** An ordinary table outside the system schemas, with what inspect.ts decides between an exact count and an estimate by. */
export interface OrdinaryTable {
  schema: string;
  name: string;
  /** Heap and TOAST (pg_table_size), as the bigint's text. */
  data_bytes: string;
  /** PostgreSQL's row estimate (pg_class.reltuples): -1 for a table never vacuumed nor analyzed. */
  estimate: number;
}

/** Every ordinary table, ordered by schema and name (excluding system schemas). */
export async function ordinaryTables(client: pg.Client): Promise<OrdinaryTable[]> {
  const { rows } = await client.query<OrdinaryTable>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_table_size(c.oid) AS data_bytes, c.reltuples::float8 AS estimate
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY 1, 2`,
  );
  return rows;
}

/** Exact row counts of every ordinary table, keyed "schema.table" (excluding system schemas). */
export async function tableRowCounts(client: pg.Client): Promise<Record<string, number>> {
  return countRows(client, await ordinaryTables(client));
}

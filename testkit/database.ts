import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import type { PgTarget } from '../shared/postgres/connection.js';
import { dumpSchema, normalizeSchema } from '../shared/postgres/schema.js';
import { serviceEnv } from './services/index.js';

/**
 * One fresh database per test (or per describe block) on the shared test server, so tests never
 * see each other's tables and can run in parallel.
 */
export interface TestDatabase {
  name: string;
  /** Superuser URL of this database. */
  url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return serviceEnv('pgAdminUrl');
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** One connection to `url` for the length of `fn`. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  return await withClient(databaseUrl(database), fn);
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`));
}

export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(name);
  return {
    name,
    url,
    query: <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) =>
      withClient(url, (client) => client.query<R>(sql, params)),
    drop: () => dropDatabase(name),
  };
}

/** A database URL as a PgTarget, without resolvePgTarget's secret masking (which prints ::add-mask:: lines into test output). */
export function targetOfUrl(databaseUrl: string): PgTarget {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username) || 'postgres',
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: decodeURIComponent(url.pathname.slice(1)),
    sslmode: url.searchParams.get('sslmode') ?? undefined,
  };
}

/** A PostgreSQL client tool (pg_dump, psql, pgbench...) of the test server's version. */
export function pgBin(tool: string): string {
  return path.join(serviceEnv('pgBinDir'), tool);
}

/** The normalised pg_dump --schema-only of a database, column order kept: the strictest comparison. */
export async function schemaOfUrl(databaseUrl: string): Promise<string> {
  return normalizeSchema(await dumpSchema(targetOfUrl(databaseUrl), pgBin('pg_dump')));
}

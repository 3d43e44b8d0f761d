import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { demoMigrationsDir } from './services/demo-images.js';

/**
 * Brings a database to a demo schema version the way `migrate -path ... up N` (golang-migrate)
 * would: each up file in its own transaction, then the single-row schema_migrations(version, dirty).
 */
export async function migrateDemoSchema(databaseUrl: string, toVersion: number): Promise<void> {
  const dir = demoMigrationsDir();
  const ups = readdirSync(dir)
    .filter((file) => file.endsWith('.up.sql'))
    .map((file) => ({ file, version: Number(file.split('_')[0]) }))
    .filter((migration) => migration.version <= toVersion)
    .sort((a, b) => a.version - b.version);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)');
    const { rows } = await client.query<{ version: string }>('SELECT version FROM schema_migrations');
    const current = rows.length ? Number(rows[0].version) : 0;
    for (const migration of ups.filter((up) => up.version > current)) {
      await client.query('BEGIN');
      await client.query(readFileSync(path.join(dir, migration.file), 'utf8'));
      await client.query('TRUNCATE schema_migrations');
      await client.query('INSERT INTO schema_migrations (version, dirty) VALUES ($1, false)', [migration.version]);
      await client.query('COMMIT');
    }
  } finally {
    await client.end();
  }
}

import { migrateDatabase } from '../shared/migrations/runner.js';
import { targetOfUrl } from './database.js';
import { demoMigrationsDir } from './services/demo-images.js';

/**
 * Brings a database to a demo schema version with the suite's own migration runner, the way
 * `migrate -path ... goto N` (golang-migrate) would: up or down, each migration and its
 * schema_migrations(version, dirty) update in one transaction, under golang-migrate's advisory lock.
 * Version 0 leaves an empty history table.
 */
export async function migrateDemoSchema(databaseUrl: string, toVersion: number): Promise<void> {
  await migrateDatabase(targetOfUrl(databaseUrl), {
    migrationsDir: demoMigrationsDir(),
    format: 'golang-migrate',
    to: String(toVersion),
  });
}

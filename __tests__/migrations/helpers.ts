import { DEFAULT_HISTORY_TABLES, parseHistoryTable, qualifiedName } from '../../shared/migrations/history.js';
import { migrateDatabase } from '../../shared/migrations/runner.js';
import type { MigrationFormat } from '../../shared/migrations/types.js';
import { pgToolEnv } from '../../shared/postgres/connection.js';
import { runProcess } from '../../shared/process.js';
import { runAction, type ActionResult } from '../../testkit/action-harness.js';
import { createTestDatabase, pgBin, targetOfUrl, type TestDatabase } from '../../testkit/database.js';
import type { WrittenFixture } from './fixtures.js';

/** The history table's rows as the tool left them (diesel's run_on as text), in primary-key order. */
export async function historyRows(
  db: TestDatabase,
  format: MigrationFormat,
  table = DEFAULT_HISTORY_TABLES[format],
): Promise<Record<string, unknown>[]> {
  const name = qualifiedName(parseHistoryTable(table));
  const columns =
    format === 'golang-migrate'
      ? 'version::text AS version, dirty'
      : format === 'dbmate'
        ? 'version'
        : 'version, run_on::text AS run_on';
  const { rows } = await db.query(`SELECT ${columns} FROM ${name} ORDER BY version`);
  return rows;
}

/** Applies the fixture's up migrations with the shared runner, up to `to` (all when absent). */
export async function migrateUp(
  fixture: WrittenFixture,
  db: TestDatabase,
  to?: string,
  historyTable?: string,
): Promise<void> {
  await migrateDatabase(targetOfUrl(db.url), { migrationsDir: fixture.dir, format: fixture.format, to, historyTable });
}

/**
 * Creates fresh databases for the test file or describe block it is called in, and drops them all
 * after it; call it where `afterAll` may be called.
 */
export function freshDatabases(): (prefix: string) => Promise<TestDatabase> {
  const created: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(created.map((db) => db.drop()));
  });
  return async (prefix) => {
    const db = await createTestDatabase(prefix);
    created.push(db);
    return db;
  };
}

/**
 * Runs the bundled action the way the runner does. Without a backup (skip-backup-check) unless the
 * inputs say otherwise: a backup-checksum is checked against a real backup (__tests__/faults).
 */
export async function applyDown(
  fixture: Pick<WrittenFixture, 'dir' | 'format'>,
  db: TestDatabase,
  inputs: Record<string, string | number | boolean | undefined>,
  env?: Record<string, string | undefined>,
): Promise<ActionResult> {
  return await runAction('apply-down-migrations', {
    inputs: {
      'database-url': db.url,
      'migrations-dir': fixture.dir,
      'migrations-format': fixture.format,
      'skip-backup-check': true,
      ...inputs,
    },
    env,
  });
}

/** Runs SQL through psql, stopping at the first error: how a person replays the dry-run script. */
export async function psqlFile(url: string, file: string): Promise<string> {
  const result = await runProcess(pgBin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file], {
    env: pgToolEnv(targetOfUrl(url)),
  });
  return result.stdout;
}

export function parseJsonOutput<T = unknown>(result: ActionResult, name: string): T {
  const text = result.outputs[name];
  if (text === undefined) throw new Error(`output ${name} was not set; log:\n${result.log}`);
  return JSON.parse(text) as T;
}

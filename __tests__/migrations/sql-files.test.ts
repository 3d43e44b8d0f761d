import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { schemaOfUrl, type TestDatabase } from '../../testkit/database.js';
import { applyDown, freshDatabases, parseJsonOutput, psqlFile } from './helpers.js';

/**
 * Hand-run SQL files (migrations-format: sql-files): a team that runs NNNN_name.up.sql with psql and
 * keeps a compatibility matrix (db/compat.yml: app 2.3.0 -> schema 7, 2.1.0 -> 5) and no history table.
 */
const APP = path.join(REPO_ROOT, '__tests__/fixtures/sql-files-app');
const fixture = { dir: path.join(APP, 'db/migrations'), format: 'sql-files' as const };
const COMPAT = path.join(APP, 'db/compat.yml');
const UP_FILES = [
  '0001_create_users',
  '0002_index_users_email',
  '0003_order_status_type',
  '0004_create_orders',
  '0005_users_display_name',
  '0006_orders_total',
  '0007_audit_log',
].map((name) => path.join(fixture.dir, `${name}.up.sql`));

/** How the team migrates: psql, file by file, up to `version`; no history table anywhere. */
async function psqlUpTo(db: TestDatabase, version: number): Promise<void> {
  for (const file of UP_FILES.slice(0, version)) await psqlFile(db.url, file);
}

async function historyLog(db: TestDatabase): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(
    'SELECT version::text AS version, event, migration FROM rollback_actions.sql_files_version ORDER BY id',
  );
  return rows;
}

async function historyTableExists(db: TestDatabase): Promise<boolean> {
  const { rows } = await db.query("SELECT to_regclass('rollback_actions.sql_files_version') IS NOT NULL AS found");
  return rows[0].found as boolean;
}

describe('apply-down-migrations with migrations-format sql-files', () => {
  const database = freshDatabases();

  it('reverts 7 -> 5 as the compatibility matrix describes: history started on first use, schema equals a fresh psql of 1..5', async () => {
    const [db, expected] = [await database('sqlfiles_down'), await database('sqlfiles_expect')];
    await psqlUpTo(db, 7);
    await psqlUpTo(expected, 5);

    const result = await applyDown(fixture, db, {
      'compat-file': COMPAT,
      'app-version': '2.3.0',
      'target-app-version': '2.1.0',
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs['initial-version']).toBe('7');
    expect(result.outputs['final-version']).toBe('5');
    const reverted = parseJsonOutput<{ version: string; file: string }[]>(result, 'reverted');
    expect(reverted.map((entry) => [entry.version, entry.file])).toEqual([
      ['7', '0007_audit_log.down.sql'],
      ['6', '0006_orders_total.down.sql'],
    ]);

    // The history: initialised at 7, then one row per revert, each written with its down.
    expect(await historyLog(db)).toEqual([
      { version: '7', event: 'initialised', migration: null },
      { version: '6', event: 'reverted', migration: '7' },
      { version: '5', event: 'reverted', migration: '6' },
    ]);
    await db.query('DROP SCHEMA rollback_actions CASCADE');
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(expected.url));
  });

  it('once the history exists it is the current version: a second revert needs no stated version', async () => {
    const db = await database('sqlfiles_again');
    await psqlUpTo(db, 7);
    const first = await applyDown(fixture, db, { 'current-version': '7', 'target-version': '6' });
    expect(first.errors).toEqual([]);
    const second = await applyDown(fixture, db, { 'target-version': '4' });
    expect(second.errors).toEqual([]);
    expect(second.outputs['initial-version']).toBe('6');
    expect(second.outputs['final-version']).toBe('4');
    expect((await historyLog(db)).map((row) => row.version)).toEqual(['7', '6', '5', '4']);

    // A stated version that disagrees with the table is refused.
    const disagreeing = await applyDown(fixture, db, { 'current-version': '7', 'target-version': '3' });
    expect(disagreeing.exitCode).not.toBe(0);
    expect(disagreeing.errors.join('\n')).toContain(
      'Input "current-version" says version 7, but rollback_actions.sql_files_version records 4',
    );
    expect((await historyLog(db)).map((row) => row.version)).toEqual(['7', '6', '5', '4']);
  });

  it.each([
    [
      '6 when the database is at 7',
      7,
      '6',
      'creates table audit_log, which the database already has: it is past version 6',
    ],
    [
      '7 when the database is at 6 (the down says IF EXISTS)',
      6,
      '7',
      'drops table audit_log, which the database does not have: it is not at version 7',
    ],
    ['8 when the directory ends at 7', 7, '8', 'Input "current-version" says version 8, but'],
  ])('refuses a wrong stated current version, %s, with nothing changed', async (_case, actual, stated, message) => {
    const db = await database('sqlfiles_wrong');
    await psqlUpTo(db, actual);
    const before = await schemaOfUrl(db.url);
    const result = await applyDown(fixture, db, { 'current-version': stated, 'target-version': '5' });
    expect(result.exitCode).not.toBe(0);
    expect(result.errors.join('\n')).toContain(message);
    expect(await historyTableExists(db)).toBe(false);
    expect(await schemaOfUrl(db.url)).toBe(before);
  });

  it('dry run prints the SQL, history table creation included, and changes nothing', async () => {
    const db = await database('sqlfiles_dry');
    await psqlUpTo(db, 7);
    const before = await schemaOfUrl(db.url);
    const result = await applyDown(fixture, db, {
      'compat-file': COMPAT,
      'app-version': '2.3.0',
      'target-version': '5',
      'dry-run': true,
    });
    expect(result.errors).toEqual([]);
    const sql = result.outputs['dry-run-sql'];
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "rollback_actions"."sql_files_version"');
    expect(sql).toContain('DROP TABLE IF EXISTS audit_log;');
    expect(sql).toContain('ALTER TABLE orders DROP CONSTRAINT orders_total_not_negative;');
    expect(sql).toContain(
      `INSERT INTO "rollback_actions"."sql_files_version" (version, event, migration) VALUES (5, 'reverted', '6');`,
    );
    expect(sql.indexOf('audit_log')).toBeLessThan(sql.indexOf('orders_total_not_negative'));
    expect(result.log).toContain('DROP TABLE IF EXISTS audit_log;');
    expect(await historyTableExists(db)).toBe(false);
    expect(await schemaOfUrl(db.url)).toBe(before);
  });

  it('validates the compatibility file, naming the input and the line', async () => {
    const db = await database('sqlfiles_compat');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync(path.join(REPO_ROOT, '.tmp-compat-'));
    const bad = path.join(dir, 'compat.yml');
    writeFileSync(bad, '# matrix\n2.3.0: 7\n2.1.0 = 5\n');
    const result = await applyDown(fixture, db, { 'compat-file': bad, 'app-version': '2.3.0', 'target-version': '5' });
    expect(result.errors.join('\n')).toContain(
      `Input "compat-file" ${bad} line 3: "2.1.0 = 5" is not "APP_VERSION: SCHEMA_NUMBER"`,
    );
    const unknown = await applyDown(fixture, db, {
      'compat-file': COMPAT,
      'app-version': '9.9.9',
      'target-version': '5',
    });
    expect(unknown.errors.join('\n')).toContain('Input "app-version" "9.9.9" is not in');
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true });
  });
});

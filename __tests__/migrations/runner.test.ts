import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MigrationRunError, migrateDatabase } from '../../shared/migrations/runner.js';
import { splitStatements } from '../../shared/migrations/statements.js';
import { schemaOfUrl, targetOfUrl, withClient } from '../../testkit/database.js';
import { migrateDemoSchema } from '../../testkit/demo-schema.js';
import { demoMigrationsDir } from '../../testkit/services/demo-images.js';
import { FIXTURE_SET, FORMATS, writeFixture } from './fixtures.js';
import { freshDatabases, historyRows } from './helpers.js';

/** The shared runner on its own: up and down in each format, the way the verify step, drills and the demo use it. */
const database = freshDatabases();

describe.each(FORMATS)('migrateDatabase with %s', (format) => {
  it("migrates up from nothing (creating the tool's history table), down to a version and up again to the same schema", async () => {
    const fixture = writeFixture(format);
    const db = await database(`runner_${format.replace('-', '_')}`);
    const up = await migrateDatabase(targetOfUrl(db.url), { migrationsDir: fixture.dir, format });
    expect(up.completed.map((outcome) => [outcome.direction, outcome.version])).toEqual(
      fixture.versions.map((version) => ['up', version]),
    );
    expect(up.finalVersion).toBe(fixture.versions.at(-1));
    const full = await schemaOfUrl(db.url);
    const historyAfterUp = await historyRows(db, format);
    if (format === 'golang-migrate') expect(historyAfterUp).toEqual([{ version: '6', dirty: false }]);
    else expect(historyAfterUp.map((row) => row.version)).toEqual(fixture.versions);

    const down = await migrateDatabase(targetOfUrl(db.url), {
      migrationsDir: fixture.dir,
      format,
      to: fixture.versions.at(-3),
    });
    expect(down.completed.map((outcome) => [outcome.direction, outcome.version])).toEqual([
      ['down', fixture.versions.at(-1)],
      ['down', fixture.versions.at(-2)],
    ]);
    expect(down.finalVersion).toBe(fixture.versions.at(-3));

    const again = await migrateDatabase(targetOfUrl(db.url), { migrationsDir: fixture.dir, format });
    expect(again.completed.map((outcome) => outcome.version)).toEqual(fixture.versions.slice(-2));
    // Column order kept: the reverted migrations re-applied in order give the same tables.
    expect(await schemaOfUrl(db.url)).toBe(full);

    const nothing = await migrateDatabase(targetOfUrl(db.url), { migrationsDir: fixture.dir, format });
    expect(nothing.completed).toEqual([]);
    expect(nothing.plan.direction).toBe('none');
  });
});

describe('migrateDatabase failures', () => {
  it('stops at a failing up migration with file, line, column and SQLSTATE; the earlier ones stay applied', async () => {
    const fixture = writeFixture('golang-migrate', [
      FIXTURE_SET[0],
      {
        name: 'broken',
        up: 'ALTER TABLE users ADD COLUMN nickname text;\nUPDATE users SET nickname = nick_name;\n',
        down: 'SELECT 1;',
      },
    ]);
    const db = await database('runner_fail');
    const error = await migrateDatabase(targetOfUrl(db.url), {
      migrationsDir: fixture.dir,
      format: 'golang-migrate',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationRunError);
    const failure = (error as MigrationRunError).failure;
    expect(failure).toMatchObject({
      direction: 'up',
      version: '2',
      file: '000002_broken.up.sql',
      line: 2,
      column: 29,
      code: '42703',
      rolledBack: true,
    });
    expect((error as MigrationRunError).message).toContain(
      'Migration 2 (broken) failed to apply at 000002_broken.up.sql:2:29: ERROR 42703: column "nick_name" does not exist',
    );
    expect((error as MigrationRunError).completed.map((outcome) => outcome.version)).toEqual(['1']);
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '1', dirty: false }]);
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('honours statement-timeout', async () => {
    const fixture = writeFixture('dbmate', [{ name: 'slow', up: 'SELECT pg_sleep(5);\n', down: 'SELECT 1;\n' }]);
    const db = await database('runner_timeout');
    const error = (await migrateDatabase(targetOfUrl(db.url), {
      migrationsDir: fixture.dir,
      format: 'dbmate',
      statementTimeoutMs: 200,
    }).catch((caught: unknown) => caught)) as MigrationRunError;
    expect(error.failure).toMatchObject({
      code: '57014',
      message: 'canceling statement due to statement timeout',
      statement: 'SELECT pg_sleep(5);',
    });
  });
});

describe('the statement splitter against PostgreSQL itself', () => {
  it('splits every demo migration and the fixture set into statements the server runs one by one', async () => {
    const db = await database('splitter');
    const demo = ['0001_create_users.up.sql', '0002_create_projects.up.sql', '0003_add_project_description.up.sql'].map(
      (file) => readFileSync(path.join(demoMigrationsDir(), file), 'utf8'),
    );
    const fixture = [
      ...FIXTURE_SET.map((migration) => migration.up),
      `CREATE FUNCTION two() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT CASE WHEN true THEN 2 END;
END;
SELECT two();`,
    ];
    await withClient(db.url, async (client) => {
      for (const sources of [demo, fixture]) {
        await client.query('BEGIN');
        let count = 0;
        for (const source of sources) {
          for (const statement of await splitStatements(source)) {
            await client.query(statement.text);
            count++;
          }
        }
        expect(count).toBeGreaterThan(sources.length);
        await client.query('ROLLBACK');
      }
    });
  });
});

describe('migrateDemoSchema on the shared runner', () => {
  it('goes up to a version and back down, like migrate goto', async () => {
    const db = await database('demo_schema');
    await migrateDemoSchema(db.url, 5);
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '5', dirty: false }]);
    await migrateDemoSchema(db.url, 3);
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '3', dirty: false }]);
    const { rows } = await db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'projects' ORDER BY ordinal_position",
    );
    expect(rows.map((row) => row.column_name)).toEqual(['id', 'owner_id', 'title', 'created_at', 'description']);
  });
});

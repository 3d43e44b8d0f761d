import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { schemaOfUrl, type TestDatabase } from '../../testkit/database.js';
import { FORMATS, writeFixture } from './fixtures.js';
import { applyDown, freshDatabases, historyRows, migrateUp, parseJsonOutput } from './helpers.js';

/**
 * For each format: the fixture set (tables, indexes, an enum, functions, triggers, a data backfill)
 * applied, three migrations reverted by the bundled action, and the result compared with a database
 * migrated up to the target only. The history must be exactly what the format's tool leaves.
 */
describe.each(FORMATS)('apply-down-migrations on a %s fixture set', (format) => {
  const database = freshDatabases();

  it('reverts three migrations newest first; schema and history equal a database migrated up to the target only', async () => {
    const fixture = writeFixture(format);
    const [db, expected] = [
      await database(`down_${format.replace('-', '_')}`),
      await database(`expect_${format.replace('-', '_')}`),
    ];
    await migrateUp(fixture, db);
    const before = await historyRows(db, format);
    const target = fixture.versions.at(-4)!;
    await migrateUp(fixture, expected, target);

    const result = await applyDown(fixture, db, { 'target-version': target, verify: true });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);

    // Newest first, with the files they came from.
    const reverted = parseJsonOutput<{ version: string; name: string; file: string; 'duration-ms': number }[]>(
      result,
      'reverted',
    );
    expect(reverted.map((entry) => [entry.version, entry.name, entry.file])).toEqual(
      [-1, -2, -3].map((index) => [
        fixture.versions.at(index),
        fixture.migrations.at(index)!.name,
        fixture.downFiles.at(index),
      ]),
    );
    for (const entry of reverted) expect(entry['duration-ms']).toBeGreaterThanOrEqual(0);
    expect(result.outputs['final-version']).toBe(target);
    expect(result.outputs['initial-version']).toBe(fixture.versions.at(-1));
    expect(result.outputs.verified).toBe('true');
    expect(Number(result.outputs['duration-ms'])).toBeGreaterThan(0);

    // The whole schema, history table included, byte for byte after normalisation (column order kept).
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(expected.url));

    // The history, exactly as the tool leaves it.
    const after = await historyRows(db, format);
    if (format === 'golang-migrate') {
      // SetVersion(3, false): TRUNCATE, then the single row.
      expect(after).toEqual([{ version: '3', dirty: false }]);
    } else if (format === 'dbmate') {
      expect(after).toEqual(fixture.versions.slice(0, -3).map((version) => ({ version })));
    } else {
      // diesel deletes the reverted rows; the others keep the run_on of their original apply.
      expect(after).toEqual(before.slice(0, -3));
      expect(after.map((row) => row.version)).toEqual(['00000000000000', ...fixture.versions.slice(1, -3)]);
    }
    expect(after.map((row) => row.version)).toEqual((await historyRows(expected, format)).map((row) => row.version));

    // The summary names every reverted migration and the verification.
    for (const entry of reverted)
      expect(result.summary).toContain(`| ${entry.version} | ${entry.name} | ${entry.file} | yes |`);
    expect(result.summary).toContain('Verification: schema matches the target');
    expect(result.events.map((event) => event.event)).toEqual([
      'down_migrations_start',
      'down_migration_reverted',
      'down_migration_reverted',
      'down_migration_reverted',
      'down_migrations_complete',
    ]);
  });

  it('reverts everything with target-version 0, leaving the history as the tool leaves it after a full down', async () => {
    const fixture = writeFixture(format);
    const db = await database(`downall_${format.replace('-', '_')}`);
    await migrateUp(fixture, db);
    const result = await applyDown(fixture, db, { 'target-version': '0', 'skip-backup-check': true });
    expect(result.errors).toEqual([]);
    expect(parseJsonOutput<unknown[]>(result, 'reverted')).toHaveLength(fixture.versions.length);
    expect(result.outputs['final-version']).toBe('');
    // golang-migrate's SetVersion(nil, false) only truncates: an empty table. dbmate and diesel delete every row.
    expect(await historyRows(db, format)).toEqual([]);
    const { rows } = await db.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v') ORDER BY 1",
    );
    expect(rows.map((row) => row.name)).toEqual([
      format === 'diesel' ? '__diesel_schema_migrations' : 'schema_migrations',
    ]);
  });
});

describe('apply-down-migrations against the real dbmate binary', () => {
  const dbmate = path.join(REPO_ROOT, 'node_modules', '@dbmate', 'linux-x64', 'bin', 'dbmate');
  const database = freshDatabases();

  async function runDbmate(db: TestDatabase, dir: string, ...args: string[]): Promise<string> {
    const url = new URL(db.url);
    url.searchParams.set('sslmode', 'disable');
    // dbmate reads DATABASE_URL from the environment: the password stays off the command line.
    const result = await runProcess(dbmate, ['--migrations-dir', dir, '--no-dump-schema', ...args], {
      env: { DATABASE_URL: url.toString() },
    });
    return result.stdout;
  }

  it('leaves the same schema and schema_migrations rows as `dbmate rollback`, and dbmate keeps working afterwards', async () => {
    const fixture = writeFixture('dbmate');
    const [ours, theirs] = [await database('dbmate_ours'), await database('dbmate_theirs')];
    await runDbmate(ours, fixture.dir, 'up');
    await runDbmate(theirs, fixture.dir, 'up');

    const result = await applyDown(fixture, ours, { steps: 3 });
    expect(result.errors).toEqual([]);
    for (let i = 0; i < 3; i++) await runDbmate(theirs, fixture.dir, 'rollback');

    expect(await schemaOfUrl(ours.url)).toBe(await schemaOfUrl(theirs.url));
    expect(await historyRows(ours, 'dbmate')).toEqual(await historyRows(theirs, 'dbmate'));
    const status = await runDbmate(ours, fixture.dir, 'status');
    expect(status).toContain('Applied: 3');
    expect(status).toContain('Pending: 3');

    // The team's own tool picks up where we left off.
    await runDbmate(ours, fixture.dir, 'up');
    await runDbmate(theirs, fixture.dir, 'up');
    expect(await schemaOfUrl(ours.url)).toBe(await schemaOfUrl(theirs.url));
    expect(await historyRows(ours, 'dbmate')).toEqual(fixture.versions.map((version) => ({ version })));
  });

  it('reverts what dbmate applied, and dbmate applies what the shared runner applied', async () => {
    const fixture = writeFixture('dbmate');
    const [byRunner, byDbmate] = [await database('dbmate_runner'), await database('dbmate_tool')];
    await migrateUp(fixture, byRunner);
    await runDbmate(byDbmate, fixture.dir, 'up');
    // The runner's history table is dbmate's own: same DDL, same rows.
    expect(await schemaOfUrl(byRunner.url)).toBe(await schemaOfUrl(byDbmate.url));
    expect(await historyRows(byRunner, 'dbmate')).toEqual(await historyRows(byDbmate, 'dbmate'));
  });
});

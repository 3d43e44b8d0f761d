import { leaksOf } from '../../testkit/action-harness.js';
import { schemaOfUrl, withClient } from '../../testkit/database.js';
import { FIXTURE_SET, rewriteMigration, writeFixture } from './fixtures.js';
import { applyDown, freshDatabases, historyRows, migrateUp, parseJsonOutput } from './helpers.js';

/** The other ways to say how far to go (plan, steps), a custom history table, secrets, and verify catching a bad down file. */
const database = freshDatabases();

describe('apply-down-migrations targets', () => {
  it('reverts exactly the migrations of a compute-rollback-target plan, and a second run with the same plan has nothing to do', async () => {
    const fixture = writeFixture('diesel');
    const db = await database('plan');
    await migrateUp(fixture, db);
    // compute-rollback-target's "migrations" output: objects with version (and more), newest first.
    const plan = JSON.stringify(
      fixture.versions
        .slice(-2)
        .reverse()
        .map((version, index) => ({ version, name: fixture.migrations.at(-1 - index)!.name, class: 'breaking' })),
    );
    const result = await applyDown(fixture, db, { plan });
    expect(result.errors).toEqual([]);
    expect(parseJsonOutput<{ version: string }[]>(result, 'reverted').map((entry) => entry.version)).toEqual(
      fixture.versions.slice(-2).reverse(),
    );
    expect(result.outputs['final-version']).toBe(fixture.versions.at(-3));

    const again = await applyDown(fixture, db, { plan });
    expect(again.errors).toEqual([]);
    expect(parseJsonOutput(again, 'reverted')).toEqual([]);
    expect(again.notices.join('\n')).toContain('every migration in the plan is already reverted');
    expect(again.summary).toContain(`| Already reverted | ${fixture.versions.slice(-2).reverse().join(', ')} |`);
  });

  it('an empty plan (image-only rollback) changes nothing and succeeds', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('emptyplan');
    await migrateUp(fixture, db);
    const result = await applyDown(fixture, db, { plan: '[]' });
    expect(result.errors).toEqual([]);
    expect(result.outputs['final-version']).toBe('6');
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '6', dirty: false }]);
  });

  it('steps counts applied migrations from the newest', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('steps');
    await migrateUp(fixture, db);
    const result = await applyDown(fixture, db, { steps: 2, 'skip-backup-check': true, 'backup-checksum': undefined });
    expect(result.errors).toEqual([]);
    expect(parseJsonOutput<{ version: string }[]>(result, 'reverted').map((entry) => entry.version)).toEqual([
      '6',
      '5',
    ]);
    expect(result.summary).toContain('| Backup | none: skip-backup-check: true |');
  });

  it('refuses two targets at once, naming the inputs', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('twotargets');
    const result = await applyDown(fixture, db, { steps: 2, 'target-version': '3' });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Input "steps" cannot be combined with "target-version"');
  });
});

describe('apply-down-migrations with a configured history table', () => {
  it('reads and writes app.migration_history, in its own schema', async () => {
    const fixture = writeFixture('dbmate');
    const db = await database('customtable');
    await migrateUp(fixture, db, undefined, 'app.migration_history');
    const result = await applyDown(fixture, db, {
      'target-version': fixture.versions.at(-3),
      'history-table': 'app.migration_history',
      verify: true,
    });
    expect(result.errors).toEqual([]);
    expect(result.outputs.verified).toBe('true');
    expect((await historyRows(db, 'dbmate', 'app.migration_history')).map((row) => row.version)).toEqual(
      fixture.versions.slice(0, -2),
    );
    expect((await db.query("SELECT to_regclass('public.schema_migrations') AS t")).rows[0].t).toBeNull();
  });
});

describe('apply-down-migrations and secrets', () => {
  it('never shows the database password: not in logs, outputs, summary or errors', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('secrets');
    await migrateUp(fixture, db);
    const password = decodeURIComponent(new URL(db.url).password);
    rewriteMigration(fixture, 4, { ...FIXTURE_SET[4], down: 'ALTER TABLE projects RENAME COLUMN nope TO title;\n' });
    const result = await applyDown(fixture, db, { 'target-version': '3', 'dry-run': false });
    expect(result.exitCode).toBe(1);
    expect(result.masks).toContain(password);
    expect(leaksOf(result, password)).toEqual([]);
    expect(result.summary).toContain(`postgres@${new URL(db.url).hostname}`);
  });

  it('a wrong password is a clear error with nothing changed', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('wrongpw');
    const url = new URL(db.url);
    url.password = 'not-the-password';
    const result = await applyDown(fixture, { ...db, url: url.toString() }, { 'target-version': '3' });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('rejected user "postgres"');
    expect(leaksOf(result, 'not-the-password')).toEqual([]);
  });
});

describe('verify', () => {
  it('fails when a down migration does not undo its up migration, listing what differs', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('verifybad');
    await migrateUp(fixture, db);
    // This down file forgets the audit log's index... and the trigger function.
    rewriteMigration(fixture, 5, {
      ...FIXTURE_SET[5],
      down: 'DROP TRIGGER projects_audit ON projects;\nDROP TABLE audit_log;\n',
    });
    await withClient(db.url, (client) => client.query('INSERT INTO users (email) VALUES ($1)', ['edsger@example.com']));
    const result = await applyDown(fixture, db, { steps: 1, verify: true });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verified).toBe('false');
    // The migration itself ran and stays done; only the verification failed.
    expect(parseJsonOutput<{ version: string }[]>(result, 'reverted').map((entry) => entry.version)).toEqual(['6']);
    expect(result.errors[0]).toMatch(
      /verification found 1 difference\(s\): the schema differs from a database migrated up to version 5: \d+ statement\(s\) only in the database, 0 only in the expected schema/,
    );
    expect(result.summary).toContain('Only in the database');
    expect(result.summary).toContain('CREATE FUNCTION "public"."log_project_change"()');
    expect(result.summary).toContain('| Tables dropped | public.audit_log (0 rows) |');
    expect(result.summary).toContain('| Rows lost in kept tables | none |');
    expect(await schemaOfUrl(db.url)).toContain('log_project_change');
  });
});

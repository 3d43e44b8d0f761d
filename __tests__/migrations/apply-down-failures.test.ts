import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { schemaOfUrl, type TestDatabase } from '../../testkit/database.js';
import { FIXTURE_SET, FORMATS, rewriteMigration, writeFixture } from './fixtures.js';
import { applyDown, freshDatabases, historyRows, migrateUp, parseJsonOutput } from './helpers.js';

interface FailureOutput {
  version: string;
  name: string;
  file: string;
  statement: string;
  line: number | null;
  column: number | null;
  code: string | null;
  message: string;
  'rolled-back': boolean;
  'history-state': string;
}

const database = freshDatabases();

const RENAME = FIXTURE_SET[4];
const BROKEN_RENAME_DOWN = `-- the old release reads "title"
ALTER TABLE projects RENAME COLUMN name TO title;
UPDATE projects SET title = upper(titel);
`;

describe.each(FORMATS)('a %s down migration that fails in the middle of a run', (format) => {
  it('stops there with earlier reverts committed and recorded, names file, line, statement and error, and resumes once fixed', async () => {
    const fixture = writeFixture(format);
    const position = fixture.migrations.indexOf(RENAME);
    const [db, expected] = [
      await database(`fail_${format.replace('-', '_')}`),
      await database(`failexp_${format.replace('-', '_')}`),
    ];
    await migrateUp(fixture, db);
    const target = fixture.versions.at(-4)!;
    await migrateUp(fixture, expected, target);
    rewriteMigration(fixture, position, { ...RENAME, down: BROKEN_RENAME_DOWN });

    const failed = await applyDown(fixture, db, { 'target-version': target });
    expect(failed.exitCode).toBe(1);
    // The newest migration was reverted and stays so; the failing one was rolled back whole.
    expect(parseJsonOutput<{ version: string }[]>(failed, 'reverted').map((entry) => entry.version)).toEqual([
      fixture.versions.at(-1),
    ]);
    expect(failed.outputs['final-version']).toBe(fixture.versions.at(-2));

    const file = fixture.downFiles[position];
    const text = readFileSync(path.join(fixture.dir, file), 'utf8').split('\n');
    const line = text.findIndex((candidate) => candidate.includes('titel')) + 1;
    const column = text[line - 1].indexOf('titel') + 1;
    const failure = parseJsonOutput<FailureOutput>(failed, 'failure');
    expect(failure).toMatchObject({
      version: fixture.versions.at(-2),
      name: 'rename_project_title',
      file,
      statement: 'UPDATE projects SET title = upper(titel);',
      line,
      column,
      code: '42703',
      message: 'column "titel" does not exist',
      'rolled-back': true,
    });
    expect(failure['history-state']).toContain('rolled back');
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toContain(`${file}:${line}:${column}`);
    expect(failed.errors[0]).toContain('ERROR 42703: column "titel" does not exist');
    expect(failed.errors[0]).toContain('Statement: UPDATE projects SET title = upper(titel);');
    expect(failed.summary).toContain('### Failure');
    expect(failed.summary).toContain('UPDATE projects SET title = upper(titel);');
    expect(failed.summary).toMatch(/\*\*failed\*\* \(rolled back\)/);
    expect(failed.events.at(-1)).toMatchObject({
      event: 'down_migrations_failed',
      version: fixture.versions.at(-2),
      code: '42703',
    });

    // The database: the audit log is gone, the rename (half-run before the error) was rolled back.
    const columns = await db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'projects' ORDER BY 1",
    );
    expect(columns.rows.map((row) => row.column_name)).toEqual([
      'id',
      'name',
      'owner_id',
      'slug',
      'status',
      'updated_at',
    ]);
    expect((await db.query("SELECT to_regclass('audit_log') AS t")).rows[0].t).toBeNull();
    const history = await historyRows(db, format);
    if (format === 'golang-migrate') expect(history).toEqual([{ version: fixture.versions.at(-2), dirty: false }]);
    else expect(history.map((row) => row.version)).toEqual(fixture.versions.slice(0, -1));

    // Fix the file, run the same step again: it resumes where it stopped.
    rewriteMigration(fixture, position, RENAME);
    const resumed = await applyDown(fixture, db, { 'target-version': target });
    expect(resumed.errors).toEqual([]);
    expect(parseJsonOutput<{ version: string }[]>(resumed, 'reverted').map((entry) => entry.version)).toEqual([
      fixture.versions.at(-2),
      fixture.versions.at(-3),
    ]);
    expect(resumed.outputs['initial-version']).toBe(fixture.versions.at(-2));
    expect(resumed.outputs['final-version']).toBe(target);
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(expected.url));
    expect((await historyRows(db, format)).map((row) => row.version)).toEqual(
      (await historyRows(expected, format)).map((row) => row.version),
    );
  });
});

describe('a golang-migrate down migration that cannot run in a transaction', () => {
  it('runs outside one behind the dirty flag; a failure leaves the history dirty as golang-migrate does, and the next run refuses with the force command', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('dirty_run');
    await migrateUp(fixture, db);
    const backfill = FIXTURE_SET[3];
    // A statement only running can find wrong (the pre-checks refuse a drop of a column that does not exist).
    rewriteMigration(fixture, 3, {
      ...backfill,
      down: 'DROP INDEX CONCURRENTLY projects_slug_idx;\nALTER TABLE projects RENAME COLUMN slugg TO slug_old;\n',
    });

    const failed = await applyDown(fixture, db, { 'target-version': '3' });
    expect(failed.exitCode).toBe(1);
    expect(parseJsonOutput<{ version: string }[]>(failed, 'reverted').map((entry) => entry.version)).toEqual([
      '6',
      '5',
    ]);
    const planned = parseJsonOutput<{ version: string; transactional: boolean }[]>(failed, 'planned');
    expect(planned.find((entry) => entry.version === '4')?.transactional).toBe(false);
    expect(failed.log).toContain('runs outside a transaction because it holds DROP INDEX CONCURRENTLY (line 1)');
    const failure = parseJsonOutput<FailureOutput>(failed, 'failure');
    expect(failure).toMatchObject({
      version: '4',
      line: 2,
      code: '42703',
      message: 'column "slugg" does not exist',
      'rolled-back': false,
    });
    expect(failure['history-state']).toContain('dirty at version 3');
    // What golang-migrate's own run leaves: version 3 (the target of the failed down), dirty.
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '3', dirty: true }]);
    // The statement before the failure stayed done: outside a transaction nothing rolls back.
    expect((await db.query("SELECT to_regclass('projects_slug_idx') AS t")).rows[0].t).toBeNull();

    const before = await schemaOfUrl(db.url);
    const refused = await applyDown(fixture, db, { 'target-version': '3' });
    expect(refused.exitCode).toBe(1);
    expect(refused.errors[0]).toContain('The history table public.schema_migrations is dirty at version 3');
    expect(refused.errors[0]).toContain(
      `migrate -path ${fixture.dir} -database "$DATABASE_URL" force 3    # the schema is fully at version 3`,
    );
    expect(refused.errors[0]).toContain(`force 4    # a down migration from 4 failed`);
    expect(await schemaOfUrl(db.url)).toBe(before);
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '3', dirty: true }]);
  });

  it('succeeds outside a transaction when the statement is fine, recording golang-migrate history as usual', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('concurrent_ok');
    await migrateUp(fixture, db);
    rewriteMigration(fixture, 3, { ...FIXTURE_SET[3], down: 'DROP INDEX CONCURRENTLY projects_slug_idx;\n' });
    const result = await applyDown(fixture, db, { 'target-version': '3' });
    expect(result.errors).toEqual([]);
    expect(result.summary).toMatch(/\| 4 \| backfill_project_slug \| 000004_backfill_project_slug.down.sql \| no \|/);
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '3', dirty: false }]);
  });
});

describe('refusals that change nothing', () => {
  async function refusal(
    format: (typeof FORMATS)[number],
    prepare: (fixture: ReturnType<typeof writeFixture>, db: TestDatabase) => Promise<void> | void,
    inputs: Record<string, string | boolean | number | undefined>,
  ) {
    const fixture = writeFixture(format);
    const db = await database(`refuse_${format.replace('-', '_')}`);
    await migrateUp(fixture, db);
    await prepare(fixture, db);
    const before = { schema: await schemaOfUrl(db.url), history: await historyRows(db, format) };
    const result = await applyDown(fixture, db, inputs);
    expect(result.exitCode).toBe(1);
    expect(result.errors).toHaveLength(1);
    // Nothing changed: the whole schema and the history are as they were.
    expect(await schemaOfUrl(db.url)).toBe(before.schema);
    expect(await historyRows(db, format)).toEqual(before.history);
    expect(result.events.filter((event) => event.event === 'down_migrations_start')).toEqual([]);
    return { error: result.errors[0], result, fixture };
  }

  it('a missing down file, named, before anything runs', async () => {
    const { error } = await refusal(
      'golang-migrate',
      (fixture) => rmSync(path.join(fixture.dir, fixture.downFiles[4])),
      { 'target-version': '3' },
    );
    expect(error).toContain('Migration 5 (rename_project_title) has no down migration file. Nothing was changed.');
    expect(error).toContain('allow-empty-down');
  });

  it('an empty down file, named', async () => {
    const { error } = await refusal(
      'diesel',
      (fixture) => rewriteMigration(fixture, 5, { ...RENAME, down: '-- nothing to undo\n' }),
      { 'target-version': '20240101000003' },
    );
    expect(error).toContain('2024-01-01-000005_rename_project_title/down.sql is empty');
  });

  it('several problems at once, all listed', async () => {
    const { error } = await refusal(
      'dbmate',
      (fixture) => {
        rewriteMigration(fixture, 4, { ...RENAME, down: undefined });
        rewriteMigration(fixture, 5, { ...FIXTURE_SET[5], down: '  \n' });
      },
      { 'target-version': '20240101000003' },
    );
    expect(error).toContain('2 problems, found before anything was changed');
    expect(error).toContain(
      'dbmate migration 20240101000005 (rename_project_title) has no down migration ("-- migrate:down" section).',
    );
    expect(error).toContain('20240101000006_create_audit_log.sql is empty');
  });

  it('an applied dbmate migration whose file is gone (dbmate would silently revert an older one)', async () => {
    // A dbmate migration is one file: without it, the migration is gone from the directory.
    const { error } = await refusal('dbmate', (fixture) => rmSync(path.join(fixture.dir, fixture.downFiles[5])), {
      steps: 1,
    });
    expect(error).toContain('Version 20240101000006 is applied but');
    expect(error).toContain('has no migration file for it');
  });

  it('a dirty golang-migrate history found at start, with the commands that resolve it', async () => {
    const { error, fixture } = await refusal(
      'golang-migrate',
      async (_fixture, db) => void (await db.query('UPDATE schema_migrations SET version = 5, dirty = true')),
      { 'target-version': '3' },
    );
    expect(error).toContain('is dirty at version 5');
    expect(error).toContain(`migrate -path ${fixture.dir} -database "$DATABASE_URL" force 5`);
    expect(error).toContain('force 6    # a down migration from 6 failed');
    expect(error).toContain('force 4    # an up migration to 5 failed');
  });

  it('an unknown target version', async () => {
    const { error } = await refusal('golang-migrate', () => undefined, { 'target-version': '42' });
    expect(error).toContain('Input "target-version" is 42, which is neither a migration in');
    expect(error).toContain('known versions: 1, 2, 3, 4, 5, 6');
  });

  it('no proof of a backup', async () => {
    const { error } = await refusal('golang-migrate', () => undefined, {
      'target-version': '3',
      'backup-checksum': '',
      'skip-backup-check': false,
    });
    expect(error).toContain('Input "backup-checksum" is required to revert migrations');
    expect(error).toContain('skip-backup-check: true');
  });

  it('a malformed backup checksum', async () => {
    const { error } = await refusal('golang-migrate', () => undefined, {
      'target-version': '3',
      'backup-checksum': 'not-a-checksum',
    });
    expect(error).toContain('Input "backup-checksum" must be a SHA-256 in hex');
  });

  it('a target newer than the database', async () => {
    const { error } = await refusal('golang-migrate', async (fixture, db) => void (await migrateUp(fixture, db, '2')), {
      'target-version': '4',
    });
    expect(error).toContain('The database is at version 2, older than target-version 4');
  });

  it('more steps than applied migrations', async () => {
    const { error } = await refusal('diesel', () => undefined, { steps: 9 });
    expect(error).toContain('Input "steps" asks to revert 9 migration(s), but only 7 are applied');
  });

  it('a plan that would revert out of order', async () => {
    const { error } = await refusal('dbmate', () => undefined, {
      plan: JSON.stringify([{ version: '20240101000005' }, { version: '20240101000004' }]),
    });
    expect(error).toContain('version(s) 20240101000006, newer than 20240101000004, are applied and not in the plan');
  });

  it('a dbmate file that needs transaction:false but does not say so', async () => {
    const { error } = await refusal(
      'dbmate',
      (fixture) =>
        rewriteMigration(fixture, 3, {
          ...FIXTURE_SET[3],
          down: 'DROP INDEX CONCURRENTLY projects_slug_idx;\nALTER TABLE projects DROP COLUMN slug;\n',
        }),
      { 'target-version': '20240101000003' },
    );
    expect(error).toContain('20240101000004_backfill_project_slug.sql holds DROP INDEX CONCURRENTLY (line 8)');
    expect(error).toContain('add transaction:false to its "-- migrate:down" line');
  });

  it("a down file PostgreSQL's grammar rejects, or one dropping what does not exist, named with file and line", async () => {
    const { error } = await refusal(
      'golang-migrate',
      (fixture) => {
        rewriteMigration(fixture, 5, {
          ...FIXTURE_SET[5],
          down: 'DROP TABLE audit_log;\nDROP INDEX audit_log_project_idx;\n',
        });
        rewriteMigration(fixture, 4, { ...RENAME, down: 'ALTER TABLE projects RENAMEE COLUMN name TO title;\n' });
      },
      { 'target-version': '4' },
    );
    expect(error).toContain('2 problems, found before anything was changed');
    // The index went with its table, one statement earlier.
    expect(error).toContain(
      '000006_create_audit_log.down.sql line 2: drops index audit_log_project_idx, which does not exist in the database when this runs: `DROP INDEX audit_log_project_idx` fails.',
    );
    expect(error).toMatch(
      /000005_rename_project_title\.down\.sql line 1: PostgreSQL's grammar rejects `ALTER TABLE projects RENAMEE COLUMN name TO title` \(syntax error at or near "RENAMEE"\); the revert would fail there\./,
    );
  });

  it('a history table of another format', async () => {
    const { error } = await refusal('dbmate', () => undefined, {
      'target-version': '0',
      'migrations-format': 'golang-migrate',
    });
    expect(error).toContain(
      'Input "migrations-format" is "golang-migrate", but the history table public.schema_migrations has columns (version), not golang-migrate\'s (dirty, version): it looks like dbmate\'s',
    );
  });

  it('a history table that does not exist', async () => {
    const { error } = await refusal('golang-migrate', () => undefined, {
      'target-version': '3',
      'history-table': 'app.schema_migrations',
    });
    expect(error).toContain('The history table app.schema_migrations does not exist');
  });
});

describe('intentionally empty down migrations', () => {
  it('allow-empty-down reverts them as a history-only step', async () => {
    const fixture = writeFixture('dbmate');
    const db = await database('allow_empty');
    await migrateUp(fixture, db);
    rewriteMigration(fixture, 5, { ...FIXTURE_SET[5], down: '-- audit log stays: it is kept for compliance\n' });
    const result = await applyDown(fixture, db, { steps: 1, 'allow-empty-down': '20240101000006' });
    expect(result.errors).toEqual([]);
    expect(result.summary).toContain('| 20240101000006 | create_audit_log | (history only) | yes |');
    expect((await db.query("SELECT to_regclass('audit_log') AS t")).rows[0].t).toBe('audit_log');
    expect((await historyRows(db, 'dbmate')).map((row) => row.version)).toEqual(fixture.versions.slice(0, -1));
  });
});

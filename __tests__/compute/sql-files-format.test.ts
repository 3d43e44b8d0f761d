import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { schemaOfUrl } from '../../testkit/database.js';
import { applyDown, freshDatabases, psqlFile } from '../migrations/helpers.js';
import { createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { sqlFiles } from '../../shared/migrations/tools/sql-files.js';
import { compute, expectSuccess, migrationsOf, warningsOf } from './support.js';

/**
 * Hand-run SQL files (__tests__/fixtures/sql-files-app) read from git at each tag: the target's
 * version is the highest NNNN there, and the plan compute-rollback-target shows an approver is the
 * one apply-down-migrations runs (plan-digest accepted as expected-plan-digest).
 */
const MIGRATIONS = path.join(REPO_ROOT, '__tests__', 'fixtures', 'sql-files-app', 'db', 'migrations');
const filesUpTo = (from: number, to: number) =>
  Object.fromEntries(
    readdirSync(MIGRATIONS)
      .filter((file) => {
        const version = Number(file.slice(0, 4));
        return version >= from && version <= to;
      })
      .map((file) => [`db/migrations/${file}`, readFileSync(path.join(MIGRATIONS, file), 'utf8')]),
  );

describe('compute-rollback-target with sql-files migrations', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    repo = createFixtureRepo(
      [
        { tag: 'v2.1.0', files: filesUpTo(1, 5) },
        { tag: 'v2.2.0', files: filesUpTo(6, 6) },
        { tag: 'v2.3.0', files: filesUpTo(7, 7) },
      ],
      { prefix: 'sqlfiles-repo' },
    );
  });
  afterAll(() => repo.remove());
  const database = freshDatabases();

  it('plans 7 -> 5 from the files at each tag; apply-down-migrations accepts its plan-digest and runs exactly that', async () => {
    const result = await compute(repo.dir, {
      'migrations-dir': 'db/migrations',
      'migrations-format': 'sql-files',
      current: 'v2.3.0',
      target: 'v2.1.0',
    });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      strategy: 'down-migrations',
      'target-schema-version': '5',
      'current-schema-version': '7',
    });
    expect(migrationsOf(result).map((migration) => [migration.version, migration.down])).toEqual([
      ['7', '0007_audit_log.down.sql'],
      ['6', '0006_orders_total.down.sql'],
    ]);

    const db = await database('sqlfiles_plan');
    for (const file of readdirSync(MIGRATIONS)
      .filter((name) => name.endsWith('.up.sql'))
      .sort())
      await psqlFile(db.url, path.join(MIGRATIONS, file));
    const fixture = { dir: MIGRATIONS, format: 'sql-files' as const };
    const before = await schemaOfUrl(db.url);

    // A digest that is not the plan's is refused with nothing changed...
    const tampered = `sha256:${'0'.repeat(64)}`;
    const refused = await applyDown(fixture, db, {
      plan: result.outputs.migrations,
      'expected-plan-digest': tampered,
      'current-version': '7',
    });
    expect(refused.exitCode).not.toBe(0);
    expect(await schemaOfUrl(db.url)).toBe(before);

    // ...and the approved one runs.
    const applied = await applyDown(fixture, db, {
      plan: result.outputs.migrations,
      'expected-plan-digest': result.outputs['plan-digest'],
      'current-version': '7',
    });
    expect(applied.errors).toEqual([]);
    expect(applied.outputs['plan-digest']).toBe(result.outputs['plan-digest']);
    expect(applied.outputs['final-version']).toBe('5');
  });
});

/**
 * The runbook's compatibility matrix (db/compat.yml, "APP_VERSION: SCHEMA_NUMBER") as each release
 * committed it: v2.1.0 ships 0006's files already but runs on schema 5, and the newest matrix no
 * longer lists 2.1.0 at all. v2.0.0's matrix has a broken line; v2.2.0's forgot its own.
 */
describe('compute-rollback-target with sql-files: the compatibility matrix at each tag, and the first use', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    repo = createFixtureRepo(
      [
        { tag: 'v2.0.0', files: { ...filesUpTo(1, 3), 'db/compat.yml': '2.0.0: 3\n2.0.0 runs on schema three\n' } },
        { tag: 'v2.1.0', files: { ...filesUpTo(4, 6), 'db/compat.yml': '# app: schema\n2.0.0: 3\n2.1.0: 5\n' } },
        { tag: 'v2.2.0', files: { 'db/compat.yml': '2.0.0: 3\n2.1.0: 5\n' } },
        { tag: 'v2.3.0', files: { ...filesUpTo(7, 7), 'db/compat.yml': '2.2.0: 6\n2.3.0: "7"\n' } },
      ],
      { prefix: 'sqlfiles-compat' },
    );
  });
  afterAll(() => repo.remove());
  const database = freshDatabases();
  const plan = (inputs: Record<string, string>) =>
    compute(repo.dir, {
      'migrations-dir': 'db/migrations',
      'migrations-format': 'sql-files',
      current: 'v2.3.0',
      target: 'v2.1.0',
      ...inputs,
    });
  /** A database the runbook migrated by hand to 7: every up file run with psql, no history table. */
  async function handMigrated(prefix: string) {
    const db = await database(prefix);
    for (const file of readdirSync(MIGRATIONS)
      .filter((name) => name.endsWith('.up.sql'))
      .sort())
      await psqlFile(db.url, path.join(MIGRATIONS, file));
    return db;
  }
  const historyTableExists = async (db: { query: (sql: string) => Promise<{ rows: { found: string | null }[] }> }) =>
    (await db.query(`SELECT to_regclass('rollback_actions.sql_files_version')::text AS found`)).rows[0].found !== null;

  it("the target's schema number is the target tag's own matrix line, not the newest file in its tree", async () => {
    const withoutMatrix = await plan({});
    expectSuccess(withoutMatrix);
    expect(withoutMatrix.outputs['target-schema-version']).toBe('6');

    const result = await plan({ 'compat-file': 'db/compat.yml' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({ 'target-schema-version': '5', 'current-schema-version': '7' });
    expect(migrationsOf(result).map((migration) => migration.version)).toEqual(['7', '6']);
    expect(result.summary).toContain('Target schema 5: db/compat.yml at v2.1.0 line 3 ("2.1.0: 5").');
  });

  it("a bad line in the target tag's matrix, or no line for the target, names compat-file, the tag and the line", async () => {
    const bad = await plan({ 'compat-file': 'db/compat.yml', target: 'v2.0.0' });
    expect(bad.exitCode).toBe(1);
    expect(bad.errors[0]).toContain('Input "compat-file"');
    expect(bad.errors[0]).toContain(
      'db/compat.yml at v2.0.0 line 2: "2.0.0 runs on schema three" is not "APP_VERSION: SCHEMA_NUMBER"',
    );

    const missing = await plan({ 'compat-file': 'db/compat.yml', target: 'v2.2.0' });
    expect(missing.exitCode).toBe(1);
    expect(missing.errors[0]).toContain(
      'Input "compat-file" reads db/compat.yml at v2.2.0, which has no line for v2.2.0',
    );

    const absent = await plan({ 'compat-file': 'db/no-such-matrix.yml' });
    expect(absent.exitCode).toBe(1);
    expect(absent.errors[0]).toContain(
      'Input "compat-file" names "db/no-such-matrix.yml", which is not a file at v2.1.0',
    );
  });

  it("first use: without the history table, the current version comes from the current tag's matrix, and nothing is created", async () => {
    const db = await handMigrated('sqlfiles_first_use');
    const before = await schemaOfUrl(db.url);
    const result = await plan({ 'compat-file': 'db/compat.yml', 'database-url': db.url });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'plan-source': 'database',
      'current-schema-version': '7',
      'target-schema-version': '5',
      strategy: 'down-migrations',
    });
    expect(migrationsOf(result).map((migration) => migration.version)).toEqual(['7', '6']);
    const stated = warningsOf(result).find((warning) => warning.kind === 'stated-version');
    expect(stated?.message).toContain('its version 7 is taken from db/compat.yml at v2.3.0 line 2 ("2.3.0: 7")');
    expect(await historyTableExists(db)).toBe(false);
    expect(await schemaOfUrl(db.url)).toBe(before);

    // apply-down-migrations, told the same, accepts the plan, creates the table and reverts 7 and 6.
    const applied = await applyDown({ dir: MIGRATIONS, format: 'sql-files' }, db, {
      plan: result.outputs.migrations,
      'expected-plan-digest': result.outputs['plan-digest'],
      'current-version': '7',
    });
    expect(applied.errors).toEqual([]);
    expect(applied.outputs['final-version']).toBe('5');
  });

  it('first use with current-version; a wrong one is flagged as what apply-down-migrations would refuse', async () => {
    const db = await handMigrated('sqlfiles_first_use_stated');
    const right = await plan({ 'current-version': '7', 'database-url': db.url });
    expectSuccess(right);
    expect(right.outputs['current-schema-version']).toBe('7');
    expect(warningsOf(right).find((warning) => warning.kind === 'stated-version')?.message).toContain(
      'its version 7 is taken from current-version',
    );
    expect(warningsOf(right).filter((warning) => warning.kind === 'apply-would-refuse')).toEqual([]);

    const wrong = await plan({
      'current-version': '6',
      'compat-file': 'db/compat.yml',
      'database-url': db.url,
      'db-policy': 'down-migrations',
    });
    expect(migrationsOf(wrong).map((migration) => migration.version)).toEqual(['6']);
    expectSuccess(wrong);
    const refusal = warningsOf(wrong).find((warning) => warning.kind === 'apply-would-refuse');
    expect(refusal?.message).toContain('the database is not at version 6 (current-version)');
    expect(refusal?.message).toContain('0007_audit_log.up.sql creates');
    expect(await historyTableExists(db)).toBe(false);
  });

  it('first use with neither stated stops, naming current-version; once the table exists, current-version must agree with it', async () => {
    const db = await handMigrated('sqlfiles_first_use_none');
    const none = await plan({ 'database-url': db.url });
    expect(none.exitCode).toBe(1);
    expect(none.errors[0]).toContain('give current-version (or compat-file)');

    for (const sql of sqlFiles.statedHistory!.initialise(
      { schema: 'rollback_actions', table: 'sql_files_version' },
      '7',
    ))
      await db.query(sql);
    const disagrees = await plan({ 'database-url': db.url, 'current-version': '6' });
    expect(disagrees.exitCode).toBe(1);
    expect(disagrees.errors[0]).toContain(
      'Input "current-version" says version 6, but "rollback_actions"."sql_files_version" records 7',
    );
    const agrees = await plan({ 'database-url': db.url, 'current-version': '7' });
    expectSuccess(agrees);
    expect(warningsOf(agrees).some((warning) => warning.kind === 'stated-version')).toBe(false);
  });

  it('current-version and compat-file are refused with another migrations-format', async () => {
    const result = await plan({ 'migrations-format': 'golang-migrate', 'current-version': '7' });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Input "current-version" is used only with migrations-format sql-files');
  });
});

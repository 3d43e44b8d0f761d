import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { schemaOfUrl } from '../../testkit/database.js';
import { applyDown, freshDatabases, psqlFile } from '../migrations/helpers.js';
import { createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectSuccess, migrationsOf } from './support.js';

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

import { execFileSync } from 'node:child_process';
import { runAction } from '../../testkit/action-harness.js';
import { freshDatabases } from '../migrations/helpers.js';
import { createDemoRepo, GIT_ENV } from '../../testkit/fixture-repo.js';
import { compute, databaseState, expectSuccess, migrateTo, migrationsOf, useDemoRepo, warningsOf } from './support.js';

/**
 * compute-rollback-target with database-url, against a real PostgreSQL: the database's own history
 * decides what is reverted. The demo app's history (v1.0.0..v1.3.0, migrations 1..5) with the
 * database left at 5 by an image-only rollback from v1.3.0 to v1.2.0, as in `npm run demo`.
 */
const database = freshDatabases();

describe('compute-rollback-target reading the database', () => {
  const demo = useDemoRepo();
  /** Plans v1.3.0 -> v1.1.0 on a database at 5 after `tamper` changed its history: a plan that must stop. */
  const stopped = async (prefix: string, tamper: string) => {
    const db = await database(prefix);
    await migrateTo(demo.dir, db, '5');
    await db.query(tamper);
    const result = await compute(demo.repo.dir, {
      current: 'v1.3.0',
      target: 'v1.1.0',
      'migrations-dir': 'db/migrations',
      'database-url': db.url,
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({ strategy: '', 'plan-digest': '' });
    return result;
  };

  it('lists every migration the database will revert, including one the current release does not have', async () => {
    const db = await database('plan_ahead');
    await migrateTo(demo.dir, db, '5');
    const before = await databaseState(db);
    const result = await compute(demo.repo.dir, {
      current: 'v1.2.0',
      target: 'v1.1.0',
      'migrations-dir': 'db/migrations',
      'database-url': db.url,
    });
    expectSuccess(result);
    expect(await databaseState(db)).toEqual(before);
    expect(result.outputs).toMatchObject({
      'plan-source': 'database',
      'current-schema-version': '5',
      'target-schema-version': '3',
      strategy: 'down-migrations',
      stops: '[]',
    });
    const migrations = migrationsOf(result);
    expect(migrations.map((migration) => [migration.version, migration.class, migration.inCurrentRelease])).toEqual([
      ['5', 'additive', false],
      ['4', 'breaking', true],
    ]);
    // 5's down file drops a column that has collected data since: the approver sees it.
    expect(migrations[0].revertWarnings).toEqual([
      expect.objectContaining({
        kind: 'data-loss',
        message:
          'Reverting drops column projects.archived: values written to it since migration 5 add_project_archived was applied are lost.',
      }),
    ]);
    expect(warningsOf(result)).toEqual([expect.objectContaining({ kind: 'data-loss', migration: '5' })]);
    expect(result.outputs.verdict).toBe(
      'Revert 2 migration(s) (5, 4) with their down files to schema 3, then deploy v1.1.0. 4 rename_project_title is breaking for v1.1.0: renames column projects.title to name: old code still uses projects.title. ' +
        'Back up first: reverting drops projects.archived. 5 is applied in the database although v1.2.0 does not have it (an earlier image-only rollback, or a hotfix).',
    );
    expect(result.summary).toContain(
      '| 5 | add_project_archived (applied, not in v1.2.0) | additive | present | drops column projects.archived |',
    );
    expect(result.summary).toMatch(
      /\| Planned from \| the database's own history \(`[^@|`]+@127\.0\.0\.1:\d+\/plan_ahead_[0-9a-f]+`\) \|/,
    );
    expect(result.outputs['plan-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);

    // The same question from git alone sees only 4, and says so.
    const fromGit = await compute(demo.repo.dir, {
      current: 'v1.2.0',
      target: 'v1.1.0',
      'migrations-dir': 'db/migrations',
    });
    expectSuccess(fromGit);
    expect(migrationsOf(fromGit).map((migration) => migration.version)).toEqual(['4']);
    expect(fromGit.outputs).toMatchObject({ 'plan-source': 'git', 'current-schema-version': '4' });
    expect(fromGit.outputs.verdict).toMatch(/Planned from git only: the database was not read \(no database-url\)\.$/);
    expect(fromGit.summary).toContain('| Planned from | git only: the database was not read (no database-url) |');
    expect(fromGit.outputs['plan-digest']).not.toBe(result.outputs['plan-digest']);

    // apply-down-migrations, given the plan, computes the same digest for what it would run.
    const dryRun = await runAction('apply-down-migrations', {
      inputs: {
        'database-url': db.url,
        'migrations-dir': demo.dir,
        plan: result.outputs.migrations,
        'expected-plan-digest': result.outputs['plan-digest'],
        'dry-run': true,
      },
    });
    expect(dryRun.errors).toEqual([]);
    expect(dryRun.outputs['plan-digest']).toBe(result.outputs['plan-digest']);
    expect(dryRun.log).toContain(`The plan is the approved one: ${result.outputs['plan-digest']}.`);
  });

  it('stops on a dirty history, naming it, before any approval', async () => {
    const result = await stopped('plan_dirty', 'UPDATE schema_migrations SET dirty = true');
    expect(result.errors).toEqual([
      expect.stringMatching(
        /^No rollback may start: The history table public\.schema_migrations is dirty at version 5: a migration failed part-way/,
      ),
    ]);
    expect(JSON.parse(result.outputs.stops)).toHaveLength(1);
    expect(result.outputs.verdict).toMatch(
      /^Stop: do not roll back v1\.3\.0 to v1\.1\.0 yet\. The history table public\.schema_migrations is dirty/,
    );
    expect(result.summary).toContain('### Stop: no rollback may start');
  });

  it('stops on an applied version no release and no checkout knows', async () => {
    const result = await stopped('plan_unknown', 'UPDATE schema_migrations SET version = 9');
    expect(JSON.parse(result.outputs.stops)).toEqual([
      'The database has version 9 applied, which is not a migration of this repository (not in db/migrations of the checkout nor at any release tag): something outside the releases changed the schema. Find out what before rolling back.',
    ]);
  });

  it('finds an applied version the checkout lacks at a release tag, and plans a restore because apply-down-migrations could not revert it from this checkout', async () => {
    const old = createDemoRepo();
    try {
      execFileSync('git', ['-C', old.dir, 'checkout', '-q', 'v1.2.0'], { env: { ...process.env, ...GIT_ENV } });
      const db = await database('plan_elsewhere');
      await migrateTo(demo.dir, db, '5');
      const result = await compute(old.dir, {
        current: 'v1.2.0',
        target: 'v1.1.0',
        'migrations-dir': 'db/migrations',
        'database-url': db.url,
      });
      expectSuccess(result);
      expect(
        migrationsOf(result).map((migration) => [migration.version, migration.name, migration.inCurrentRelease]),
      ).toEqual([
        ['5', 'add_project_archived', false],
        ['4', 'rename_project_title', true],
      ]);
      expect(result.outputs.strategy).toBe('restore-backup');
      expect(JSON.parse(result.outputs.reasons)).toEqual([
        'apply-down-migrations would refuse the revert: The history table says version 5 is applied, but db/migrations (the checkout) has no migration 5.',
      ]);
      expect(result.summary).toContain('### apply-down-migrations would refuse the revert');
    } finally {
      old.remove();
    }
  });
});

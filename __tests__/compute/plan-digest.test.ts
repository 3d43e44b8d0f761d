import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { explainDifference, planDigest, type PlanIdentity } from '../../shared/migrations/plan-digest.js';
import { runAction } from '../../testkit/action-harness.js';
import { freshDatabases } from '../migrations/helpers.js';
import { compute, databaseState, expectSuccess, migrateTo, useDemoRepo } from './support.js';

/**
 * The plan an approver sees is what runs: compute-rollback-target's plan-digest, checked by
 * apply-down-migrations and restore-db (expected-plan-digest) against what they are about to do,
 * with real PostgreSQL, the bundled actions and the demo app's release history.
 */
describe('plan digests', () => {
  const base: PlanIdentity = {
    strategy: 'down-migrations',
    targetVersion: '3',
    reverts: [
      { version: '5', downSha256: 'a'.repeat(64), transactional: true },
      { version: '4', downSha256: 'b'.repeat(64), transactional: true },
    ],
  };

  it('change with anything that changes what runs, and only with that', () => {
    const digest = planDigest(base);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(
      planDigest({ ...base, reverts: base.reverts.map((entry) => ({ ...entry, name: 'named', file: 'x.sql' })) }),
    ).toBe(digest);
    expect(planDigest({ ...base, targetVersion: '2' })).not.toBe(digest);
    expect(planDigest({ ...base, strategy: 'restore-backup' })).not.toBe(digest);
    expect(planDigest({ ...base, reverts: [...base.reverts].reverse() })).not.toBe(digest);
    expect(
      planDigest({ ...base, reverts: [{ ...base.reverts[0], downSha256: 'c'.repeat(64) }, base.reverts[1]] }),
    ).not.toBe(digest);
    expect(planDigest({ ...base, reverts: [{ ...base.reverts[0], transactional: false }, base.reverts[1]] })).not.toBe(
      digest,
    );
    expect(planDigest({ ...base, targetVersion: '0' })).toBe(planDigest({ ...base, targetVersion: '' }));
  });

  it('say what changed, given the approved entries', () => {
    const now: PlanIdentity = {
      ...base,
      reverts: [
        { version: '6', name: 'add_priority', downSha256: 'd'.repeat(64), transactional: true },
        base.reverts[0],
        { ...base.reverts[1], downSha256: 'e'.repeat(64), file: '0004_x.down.sql' },
      ],
    };
    expect(explainDifference(base.reverts, now)).toEqual([
      'version 6 (add_priority) would be undone now but is not in the approved plan: it was applied after the plan was made',
      'the down file of 4 (0004_x.down.sql) changed since the plan was made: sha256 bbbbbbbbbbbb… then, sha256 eeeeeeeeeeee… now',
    ]);
    expect(explainDifference([base.reverts[0], base.reverts[1], { version: '3' }], base)).toEqual([
      'version 3 is in the approved plan but would not be undone now',
    ]);
  });
});

const database = freshDatabases();

describe('apply-down-migrations refuses a plan that changed between approval and apply', () => {
  const demo = useDemoRepo();

  const plan = async (url: string) => {
    const result = await compute(demo.repo.dir, {
      current: 'v1.3.0',
      target: 'v1.1.0',
      'migrations-dir': 'db/migrations',
      'database-url': url,
    });
    expectSuccess(result);
    expect(result.outputs.strategy).toBe('down-migrations');
    return { migrations: result.outputs.migrations, digest: result.outputs['plan-digest'] };
  };
  const apply = (url: string, inputs: Record<string, string>) =>
    runAction('apply-down-migrations', {
      inputs: { 'database-url': url, 'migrations-dir': demo.dir, 'skip-backup-check': true, ...inputs },
    });

  it('runs the approved plan when nothing changed: same digest, 5 and 4 reverted', async () => {
    const db = await database('digest_ok');
    await migrateTo(demo.dir, db, '5');
    const approved = await plan(db.url);
    const result = await apply(db.url, { plan: approved.migrations, 'expected-plan-digest': approved.digest });
    expect(result.errors).toEqual([]);
    expect(JSON.parse(result.outputs.reverted).map((entry: { version: string }) => entry.version)).toEqual(['5', '4']);
    expect(result.outputs).toMatchObject({
      'plan-digest': approved.digest,
      'initial-version': '5',
      'final-version': '3',
    });
  });

  it('resumes the approved plan after a failure: what the first run reverted still counts', async () => {
    const db = await database('digest_resume');
    await migrateTo(demo.dir, db, '5');
    const approved = await plan(db.url);
    // Something the plan could not know makes 4's down fail when it runs: its RENAME finds "title" taken.
    await db.query('ALTER TABLE projects ADD COLUMN title text');
    const failed = await apply(db.url, { plan: approved.migrations, 'expected-plan-digest': approved.digest });
    expect(failed.exitCode).toBe(1);
    expect(JSON.parse(failed.outputs.reverted).map((entry: { version: string }) => entry.version)).toEqual(['5']);
    await db.query('ALTER TABLE projects DROP COLUMN title');
    const resumed = await apply(db.url, { plan: approved.migrations, 'expected-plan-digest': approved.digest });
    expect(resumed.errors).toEqual([]);
    expect(resumed.log).toContain('Already reverted by an earlier run: 5.');
    expect(resumed.outputs).toMatchObject({
      'plan-digest': approved.digest,
      'initial-version': '4',
      'final-version': '3',
    });
  });

  it('refuses, changing nothing, when a migration was applied after the plan was made', async () => {
    const db = await database('digest_applied');
    await migrateTo(demo.dir, db, '5');
    const approved = await plan(db.url);
    const up = path.join(demo.dir, '0006_add_project_priority.up.sql');
    const down = path.join(demo.dir, '0006_add_project_priority.down.sql');
    writeFileSync(up, 'ALTER TABLE projects ADD COLUMN priority integer;\n');
    writeFileSync(down, 'ALTER TABLE projects DROP COLUMN priority;\n');
    try {
      await migrateTo(demo.dir, db, '6');
      const before = await databaseState(db);
      const byPlan = await apply(db.url, { plan: approved.migrations, 'expected-plan-digest': approved.digest });
      expect(byPlan.exitCode).toBe(1);
      expect(byPlan.errors).toEqual([
        expect.stringMatching(
          new RegExp(
            `^The approved plan \\(expected-plan-digest ${approved.digest}\\) is not what this step would run now \\(sha256:[0-9a-f]{64}: down-migrations to version 3, undoing 6 \\(add_project_priority\\), 5 \\(add_project_archived\\), 4 \\(rename_project_title\\)\\)\\. ` +
              'What changed: version 6 \\(add_project_priority\\) would be undone now but is not in the approved plan: it was applied after the plan was made\\. Nothing was changed\\.',
          ),
        ),
      ]);
      // By target version too: the digest, not the plan's list, is what guards it.
      const byVersion = await apply(db.url, { 'target-version': '3', 'expected-plan-digest': approved.digest });
      expect(byVersion.exitCode).toBe(1);
      expect(byVersion.errors[0]).toMatch(
        /is not what this step would run now .*undoing 6 \(add_project_priority\), 5 .*The strategy, the target version or a down file differs/,
      );
      expect(await databaseState(db)).toEqual(before);
    } finally {
      rmSync(up);
      rmSync(down);
    }
  });

  it('refuses, changing nothing, when a down file was edited after the plan was made', async () => {
    const db = await database('digest_edited');
    await migrateTo(demo.dir, db, '5');
    const approved = await plan(db.url);
    const file = path.join(demo.dir, '0004_rename_project_title.down.sql');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}UPDATE projects SET title = upper(title);\n`);
    try {
      const before = await databaseState(db);
      const result = await apply(db.url, { plan: approved.migrations, 'expected-plan-digest': approved.digest });
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toMatch(
        /What changed: the down file of 4 \(rename_project_title\) \(0004_rename_project_title\.down\.sql\) changed since the plan was made: sha256 [0-9a-f]{12}… then, sha256 [0-9a-f]{12}… now\. Nothing was changed\./,
      );
      expect(result.outputs).toEqual({});
      expect(await databaseState(db)).toEqual(before);
    } finally {
      writeFileSync(file, original);
    }
  });
});

describe('restore-db refuses a restore the approved plan did not describe', () => {
  const demo = useDemoRepo();

  it('restores the backup at the target schema the plan names, and refuses one at another schema, changing nothing', async () => {
    const db = await database('digest_restore');
    const backupAt = async (version: string) => {
      await migrateTo(demo.dir, db, version);
      const backup = await runAction('backup-db', {
        inputs: { 'database-url': db.url, upload: false, label: `at-${version}` },
      });
      expect(backup.errors).toEqual([]);
      return backup.outputs.path;
    };
    const atThree = await backupAt('3');
    const atFour = await backupAt('4');
    await migrateTo(demo.dir, db, '5');
    const planned = await compute(demo.repo.dir, {
      current: 'v1.3.0',
      target: 'v1.1.0',
      'migrations-dir': 'db/migrations',
      'database-url': db.url,
      'db-policy': 'restore-backup',
    });
    expectSuccess(planned);
    const digest = planned.outputs['plan-digest'];
    const restore = (backupPath: string) =>
      runAction('restore-db', {
        inputs: {
          'database-url': db.url,
          path: backupPath,
          mode: 'replace',
          'safety-backup': false,
          'expected-plan-digest': digest,
        },
      });

    const before = await databaseState(db);
    const wrong = await restore(atFour);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.errors[0]).toMatch(
      new RegExp(
        `^The approved plan \\(expected-plan-digest ${digest}\\) is not what this step would run now \\(sha256:[0-9a-f]{64}: restore-backup to version 4, undoing 5\\)\\..* Nothing was changed\\.`,
      ),
    );
    expect(await databaseState(db)).toEqual(before);

    const right = await restore(atThree);
    expect(right.errors).toEqual([]);
    expect(right.log).toContain(`The plan is the approved one (${digest}): restore to schema 3.`);
    expect(right.outputs).toMatchObject({ 'initial-version': '5', 'final-version': '3', 'schema-version': '3' });
    expect((await db.query('SELECT version::text AS version FROM schema_migrations')).rows).toEqual([{ version: '3' }]);
  });
});

import { runAction } from '../../testkit/action-harness.js';
import {
  ALEMBIC_VERSIONS,
  alembicFirstRelease,
  alembicRevision,
  alembicVersion,
  runAlembic,
} from '../../testkit/alembic-app.js';
import { schemaOfUrl } from '../../testkit/database.js';
import { createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { freshDatabases } from '../migrations/helpers.js';
import { compute, databaseState, expectSuccess } from './support.js';

/**
 * An Alembic restore-backup, end to end through the bundled actions with Debian's alembic and real
 * PostgreSQL: compute-rollback-target plans it (a revision drops a column and has no downgrade()),
 * and restore-db, given compute's plan-digest, restores the pre-deploy backup only while the
 * database's alembic_version is what the plan said it undoes.
 */
const database = freshDatabases();

let repo: FixtureRepo;
beforeAll(() => {
  repo = createFixtureRepo(
    [
      {
        tag: 'v1.0.0',
        files: alembicFirstRelease(),
      },
      {
        tag: 'v1.1.0',
        files: {
          // No downgrade() at all: only the backup brings the column and its data back.
          [`${ALEMBIC_VERSIONS}/0010_drop_users_name.py`]: alembicRevision(
            '0010',
            '0003',
            "op.drop_column('users', 'name')",
          ),
          [`${ALEMBIC_VERSIONS}/0011_create_audit.py`]: alembicRevision(
            '0011',
            '0010',
            "op.create_table('audit', sa.Column('id', sa.Integer, primary_key=True))",
          ),
        },
      },
    ],
    { prefix: 'alembic-restore' },
  );
});
afterAll(() => repo.remove());

describe('restore-db and compute-rollback-target agree on an Alembic restore-backup', () => {
  it("restores the pre-deploy backup under compute's digest, and refuses it unchanged once alembic_version moved", async () => {
    const db = await database('alembic_restore');
    const fresh = await database('alembic_restore_fresh');
    await runAlembic(repo.dir, fresh, 'upgrade', '0003');
    await runAlembic(repo.dir, db, 'upgrade', '0003');
    await db.query("INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')");
    const backup = await runAction('backup-db', {
      inputs: { 'database-url': db.url, upload: false, label: 'pre-deploy' },
    });
    expect(backup.errors).toEqual([]);
    await runAlembic(repo.dir, db, 'upgrade', '0010');

    const plan = async () => {
      const result = await compute(repo.dir, {
        'migrations-dir': ALEMBIC_VERSIONS,
        'migrations-format': 'alembic',
        current: 'v1.1.0',
        target: 'v1.0.0',
        'database-url': db.url,
      });
      expectSuccess(result);
      expect(result.outputs.strategy).toBe('restore-backup');
      return result.outputs['plan-digest'];
    };
    const restore = (digest: string) =>
      runAction('restore-db', {
        inputs: {
          'database-url': db.url,
          path: backup.outputs.path,
          mode: 'replace',
          'safety-backup': false,
          'expected-plan-digest': digest,
        },
      });

    // Planned at 0010; 0011 is applied before the restore runs: not what was approved.
    const atTen = await plan();
    await runAlembic(repo.dir, db, 'upgrade', '0011');
    const before = await databaseState(db, 'alembic_version');
    const refused = await restore(atTen);
    expect(refused.exitCode).toBe(1);
    expect(refused.errors[0]).toMatch(
      new RegExp(
        `^The approved plan \\(expected-plan-digest ${atTen}\\) is not what this step would run now \\(sha256:[0-9a-f]{64}: restore-backup to version 0003, undoing 0011\\)\\..* Nothing was changed\\.`,
      ),
    );
    expect(await databaseState(db, 'alembic_version')).toEqual(before);
    expect(await alembicVersion(db)).toEqual(['0011']);

    const atEleven = await plan();
    expect(atEleven).not.toBe(atTen);
    const restored = await restore(atEleven);
    expect(restored.errors).toEqual([]);
    expect(restored.log).toContain(`The plan is the approved one (${atEleven}): restore to schema 0003.`);
    expect(await alembicVersion(db)).toEqual(['0003']);
    expect((await db.query('SELECT email, name FROM users')).rows).toEqual([{ email: 'ada@example.com', name: 'Ada' }]);
    // mode replace leaves a table the backup does not have, and says so; without it the schema is 0003's.
    expect(restored.warnings.join('\n')).toContain('audit');
    await db.query('DROP TABLE audit');
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
  });
});

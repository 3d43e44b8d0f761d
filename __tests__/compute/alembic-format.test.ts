import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { detectSchemaVersion } from '../../shared/migrations/detect-history.js';
import { migrateDatabase } from '../../shared/migrations/runner.js';
import { REPO_ROOT, runAction } from '../../testkit/action-harness.js';
import {
  ALEMBIC_VERSIONS,
  alembicFirstRelease,
  alembicRevision,
  alembicRevisionFiles,
  alembicVersion,
  runAlembic,
} from '../../testkit/alembic-app.js';
import { schemaOfUrl, targetOfUrl, withClient, type TestDatabase } from '../../testkit/database.js';
import { freshDatabases } from '../migrations/helpers.js';
import { createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectSuccess, migrationsOf, warningsOf } from './support.js';

/**
 * compute-rollback-target with migrations-format alembic, the bundled action run as the runner runs
 * it, on the 10-revision fixture app (testkit/fixtures/alembic-app: a branch 0004a/0004b and a merge
 * 0005) released in git as four tags, with Debian's alembic and real PostgreSQL.
 */
const database = freshDatabases();

let repo: FixtureRepo;
beforeAll(() => {
  repo = createFixtureRepo(
    [
      { tag: 'v0.9.0', files: { 'README.md': 'before the database\n' } },
      {
        tag: 'v1.0.0',
        files: alembicFirstRelease(),
      },
      { tag: 'v1.1.0', files: alembicRevisionFiles(['0004a', '0004b']) },
      { tag: 'v1.2.0', files: alembicRevisionFiles(['0005', '0006']) },
      { tag: 'v1.3.0', files: alembicRevisionFiles(['0007', '0008', '0009']) },
    ],
    { prefix: 'alembic-compute' },
  );
});
afterAll(() => repo.remove());

async function migrated(prefix: string, to = 'heads'): Promise<TestDatabase> {
  const db = await database(prefix);
  await runAlembic(repo.dir, db, 'upgrade', to);
  return db;
}

const plan = (inputs: Record<string, string>) =>
  compute(repo.dir, { 'migrations-dir': ALEMBIC_VERSIONS, 'migrations-format': 'alembic', ...inputs });

describe('compute-rollback-target, migrations-format alembic', () => {
  it('from git alone: the target is the head at the target tag, the revisions to revert newest first', async () => {
    const result = await plan({ current: 'v1.3.0', target: 'v1.2.0' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'plan-source': 'git',
      'current-schema-version': '0009',
      'target-schema-version': '0006',
      strategy: 'restore-backup',
    });
    expect(migrationsOf(result).map((migration) => [migration.version, migration.class])).toEqual([
      ['0009', 'data-loss'],
      ['0008', 'breaking'],
      ['0007', expect.any(String)],
    ]);
    expect(result.outputs['plan-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('back below the merge: the target tag has two heads, and everything from the merge up is reverted', async () => {
    const db = await migrated('alembic_compute_merge');
    const result = await plan({ current: 'v1.3.0', target: 'v1.1.0', 'database-url': db.url });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'plan-source': 'database',
      'current-schema-version': '0009',
      'target-schema-version': '0004a,0004b',
    });
    expect(migrationsOf(result).map((migration) => migration.version)).toEqual([
      '0009',
      '0008',
      '0007',
      '0006',
      '0005',
    ]);
  });

  it('classifies each op.* kind of the fixture from upgrade(), and says so; downgrade() data loss is a revert warning', async () => {
    const result = await plan({ current: 'v1.3.0', target: 'v0.9.0', 'db-policy': 'down-migrations' });
    expectSuccess(result);
    const migrations = migrationsOf(result);
    const byVersion = Object.fromEntries(migrations.map((migration) => [migration.version, migration]));
    expect(migrations.map((migration) => migration.version)).toEqual([
      '0009',
      '0008',
      '0007',
      '0006',
      '0005',
      '0004a',
      '0004b',
      '0003',
      '0002',
      '0001',
    ]);
    const classOf = (version: string) => [byVersion[version].class, byVersion[version].statements[0]?.reasons[0]];
    expect(classOf('0001')).toEqual(['additive', 'creates table users']); // op.create_table
    expect(classOf('0002')).toEqual(['additive', 'adds column users.name, nullable']); // op.add_column nullable
    expect(classOf('0004b')).toEqual(['additive', 'adds column users.status with a server default']);
    expect(classOf('0006')).toEqual(['additive', 'creates index ix_orders_user_id']); // op.create_index
    expect(classOf('0008')).toEqual([
      'breaking',
      "makes users.name NOT NULL: old code's inserts without it fail", // op.alter_column(nullable=False)
    ]);
    expect(classOf('0009')).toEqual(['data-loss', 'drops column users.status']); // op.drop_column
    expect(byVersion['0009'].dataLost).toEqual(['users.status']);
    // op.execute("UPDATE ...") goes through the SQL classifier, which reads the statement itself.
    expect(byVersion['0007'].statements[0].sql).toContain('UPDATE users SET name = email');
    expect(byVersion['0005'].statements).toEqual([]);
    expect((byVersion['0001'] as unknown as { classifiedFrom: string }).classifiedFrom).toContain('op.* calls');
    // op.drop_table in 0001's downgrade(): reverting it loses the users rows.
    expect(byVersion['0001'].revertWarnings.map((warning) => warning.message).join(' ')).toContain('drops table users');
    expect(warningsOf(result).some((warning) => warning.kind === 'data-loss' && warning.migration === '0001')).toBe(
      true,
    );
  });

  it('a breaking revision whose downgrade() only raises, or is missing, makes the plan restore-backup', async () => {
    const revision = (id: string, down: string, downgrade: string) =>
      alembicRevision(id, down, `op.alter_column('users', 'name_${id}', nullable=False)`, downgrade);
    const irreversible = createFixtureRepo(
      [
        { tag: 'v1.0.0', files: alembicRevisionFiles(['0001', '0002', '0003']) },
        {
          tag: 'v1.1.0',
          files: {
            [`${ALEMBIC_VERSIONS}/0010_raises.py`]: revision(
              '0010',
              '0003',
              '\n\ndef downgrade():\n    raise NotImplementedError("one way")\n',
            ),
            [`${ALEMBIC_VERSIONS}/0011_no_downgrade.py`]: revision('0011', '0010', ''),
          },
        },
      ],
      { prefix: 'alembic-irreversible' },
    );
    try {
      const result = await compute(irreversible.dir, {
        'migrations-dir': ALEMBIC_VERSIONS,
        'migrations-format': 'alembic',
        current: 'v1.1.0',
        target: 'v1.0.0',
      });
      expectSuccess(result);
      expect(result.outputs.strategy).toBe('restore-backup');
      expect(
        migrationsOf(result).map((migration) => [migration.version, migration.class, migration.downStatus]),
      ).toEqual([
        ['0011', 'breaking', 'missing'],
        ['0010', 'breaking', 'missing'],
      ]);
    } finally {
      irreversible.remove();
    }
  });

  it('image-only when alembic_version is already at the target head', async () => {
    const db = await migrated('alembic_compute_equal', '0006');
    const result = await plan({ current: 'v1.3.0', target: 'v1.2.0', 'database-url': db.url });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'current-schema-version': '0006',
      'target-schema-version': '0006',
      strategy: 'image-only',
      migrations: '[]',
    });
  });

  it('the plan-digest is the one apply-down-migrations checks: compute, then apply-down runs it; an edited revision between is refused', async () => {
    const db = await migrated('alembic_compute_roundtrip');
    const fresh = await migrated('alembic_compute_roundtrip_fresh', '0006');
    const result = await plan({
      current: 'v1.3.0',
      target: 'v1.2.0',
      'database-url': db.url,
      'db-policy': 'down-migrations',
    });
    expectSuccess(result);
    expect(result.outputs.strategy).toBe('down-migrations');
    const digest = result.outputs['plan-digest'];
    const applyDown = (extra: Record<string, string | boolean> = {}) =>
      runAction('apply-down-migrations', {
        inputs: {
          'database-url': db.url,
          'migrations-dir': path.join(repo.dir, ALEMBIC_VERSIONS),
          'migrations-format': 'alembic',
          'working-directory': repo.dir,
          'skip-backup-check': true,
          plan: result.outputs.migrations,
          'expected-plan-digest': digest,
          ...extra,
        },
      });
    const dry = await applyDown({ 'dry-run': true });
    expect(dry.errors).toEqual([]);
    expect(dry.outputs['plan-digest']).toBe(digest);

    const file = path.join(repo.dir, ALEMBIC_VERSIONS, '0008_users_name_required.py');
    const original = readFileSync(file, 'utf8');
    appendFileSync(file, '\n# edited after the plan was approved\n');
    try {
      const refused = await applyDown();
      expect(refused.exitCode).toBe(1);
      expect(refused.errors[0]).toContain(`The approved plan (expected-plan-digest ${digest})`);
      expect(refused.errors[0]).toContain('0008');
      expect(await alembicVersion(db)).toEqual(['0009']);
    } finally {
      await import('node:fs').then((fs) => fs.writeFileSync(file, original));
    }

    const applied = await applyDown();
    expect(applied.errors).toEqual([]);
    expect(applied.log).toContain(`The plan is the approved one: ${digest}.`);
    expect(await alembicVersion(db)).toEqual(['0006']);
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
  });

  it('an alembic_version revision the versions directory does not have is refused, naming the input and the table', async () => {
    const db = await migrated('alembic_compute_unknown');
    await db.query(`UPDATE alembic_version SET version_num = 'f00dfeed'`);
    const result = await plan({ current: 'v1.3.0', target: 'v1.2.0', 'database-url': db.url });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Input "database-url"');
    expect(result.errors[0]).toContain('f00dfeed');
    expect(result.errors[0]).toContain('(history-table "public"."alembic_version")');
  });
});

/** Revisions whose op.* calls hide what they do: SQL built at run time, a SQLAlchemy delete() construct. */
const HIDDEN = {
  [`${ALEMBIC_VERSIONS}/0010_drop_legacy_tables.py`]: `"""drop legacy tables"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0003'
branch_labels = None
depends_on = None

LEGACY = ('orders',)


def upgrade():
    for table in LEGACY:
        op.execute(f"DROP TABLE {table}")


def downgrade():
    op.create_table('orders', sa.Column('id', sa.Integer, primary_key=True))
`,
  [`${ALEMBIC_VERSIONS}/0011_prune_test_users.py`]: `"""prune test users"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('email'))


def upgrade():
    op.execute(users.delete().where(users.c.email.like('%@example.test')))


def downgrade():
    pass
`,
};

describe("compute-rollback-target classifies Alembic revisions from Alembic's own offline SQL", () => {
  let hidden: FixtureRepo;
  let hiddenDb: TestDatabase;
  beforeAll(async () => {
    hidden = createFixtureRepo(
      [
        {
          tag: 'v1.0.0',
          files: alembicFirstRelease(),
        },
        { tag: 'v1.1.0', files: HIDDEN },
      ],
      { prefix: 'alembic-offline' },
    );
    hiddenDb = await database('alembic_offline');
    await runAlembic(hidden.dir, hiddenDb, 'upgrade', 'heads');
  });
  afterAll(() => hidden.remove());

  const planHidden = (inputs: Record<string, string> = {}) =>
    compute(hidden.dir, {
      'migrations-dir': ALEMBIC_VERSIONS,
      'migrations-format': 'alembic',
      current: 'v1.1.0',
      target: 'v1.0.0',
      'database-url': hiddenDb.url,
      ...inputs,
    });

  it("a DROP built at run time and a delete() construct are data-loss from their SQL; Alembic's version rows are not counted", async () => {
    const result = await planHidden();
    expectSuccess(result);
    const byVersion = Object.fromEntries(migrationsOf(result).map((migration) => [migration.version, migration]));
    const from = (version: string) => (byVersion[version] as unknown as { classifiedFrom: string }).classifiedFrom;
    expect(byVersion['0010'].class).toBe('data-loss');
    expect(byVersion['0010'].statements.map((statement) => statement.sql)).toEqual(['DROP TABLE orders']);
    expect(byVersion['0010'].dataLost).toEqual(['orders']);
    expect(byVersion['0011'].class).toBe('data-loss');
    expect(byVersion['0011'].statements.map((statement) => statement.sql)).toEqual([
      "DELETE FROM users WHERE users.email LIKE '%@example.test'",
    ]);
    expect(byVersion['0011'].statements[0].reasons[0]).toContain('deletes rows of users');
    expect(from('0010')).toBe("Alembic's offline SQL (alembic upgrade 0003:0011 --sql)");
    expect(from('0011')).toBe(from('0010'));
    expect(result.outputs.strategy).toBe('restore-backup');
    expect(result.summary).toContain("classified from Alembic's offline SQL (alembic upgrade 0003:0011 --sql)");
    // Rendering it changed nothing in the database.
    expect(await alembicVersion(hiddenDb)).toEqual(['0011']);
  });

  it("the fixture app's revisions from their SQL: SET NOT NULL is breaking, DROP COLUMN data-loss, CREATE INDEX additive", async () => {
    const db = await migrated('alembic_offline_fixture');
    const result = await plan({
      current: 'v1.3.0',
      target: 'v1.1.0',
      'database-url': db.url,
      'db-policy': 'down-migrations',
    });
    expectSuccess(result);
    const byVersion = Object.fromEntries(migrationsOf(result).map((migration) => [migration.version, migration]));
    expect(byVersion['0008'].class).toBe('breaking');
    expect(byVersion['0008'].statements.map((statement) => statement.sql)).toEqual([
      'ALTER TABLE users ALTER COLUMN name SET NOT NULL',
    ]);
    expect(byVersion['0009'].class).toBe('data-loss');
    expect(byVersion['0009'].dataLost).toEqual(['users.status']);
    expect(byVersion['0006'].class).toBe('additive');
    expect(byVersion['0005'].statements).toEqual([]);
    for (const migration of migrationsOf(result))
      expect((migration as unknown as { classifiedFrom: string }).classifiedFrom).toBe(
        "Alembic's offline SQL (alembic upgrade 0004a:0009 --sql)",
      );
  });

  it('falls back to the op.* calls, saying why, when migrate-command cannot run', async () => {
    const result = await planHidden({ 'migrate-command': 'alembic-not-on-this-runner' });
    expectSuccess(result);
    const byVersion = Object.fromEntries(migrationsOf(result).map((migration) => [migration.version, migration]));
    // The op.* calls cannot see SQL built at run time or by a SQLAlchemy construct.
    expect(byVersion['0010'].class).toBe('unknown');
    expect(byVersion['0010'].statements[0].reasons).toEqual([
      'op.execute of SQL built at run time: nothing can read it before it runs',
    ]);
    expect(byVersion['0011'].class).toBe('unknown');
    const from = (byVersion['0010'] as unknown as { classifiedFrom: string }).classifiedFrom;
    expect(from).toContain("the op.* calls of upgrade() (Python's ast; Alembic's offline SQL was not used:");
    expect(from).toContain('"alembic-not-on-this-runner" was not found');
    expect(
      warningsOf(result)
        .filter((warning) => warning.kind === 'unanalysed-sql')
        .map((w) => w.migration),
    ).toEqual(['0011', '0010']);
  });

  it('falls back when alembic runs but cannot render (no alembic.ini in working-directory)', async () => {
    const result = await planHidden({ 'working-directory': 'alembic' });
    expectSuccess(result);
    const from = (migrationsOf(result)[0] as unknown as { classifiedFrom: string }).classifiedFrom;
    expect(from).toContain("Alembic's offline mode failed (alembic upgrade 0003:0011 --sql on this runner)");
    expect(migrationsOf(result)[0].class).toBe('unknown');
  });

  it('migrate-command is refused with another migrations-format', async () => {
    const result = await compute(hidden.dir, {
      'migrations-dir': ALEMBIC_VERSIONS,
      'migrations-format': 'golang-migrate',
      current: 'v1.1.0',
      target: 'v1.0.0',
      'migrate-command': 'docker compose run --rm api alembic',
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Input "migrate-command"');
    expect(result.errors[0]).toContain('only with migrations-format alembic');
  });
});

describe('detectSchemaVersion (backup metadata, restore checks) finds Prisma and Alembic history tables', () => {
  it('alembic_version: its heads, joined with "," on a branched graph', async () => {
    const db = await migrated('alembic_detect', '0004a');
    await runAlembic(repo.dir, db, 'upgrade', '0004b');
    expect(await withClient(db.url, detectSchemaVersion)).toEqual({
      format: 'alembic',
      table: 'public.alembic_version',
      version: '0004a,0004b',
      applied: ['0004a', '0004b'],
      dirty: false,
    });
    await runAlembic(repo.dir, db, 'upgrade', 'heads');
    expect((await withClient(db.url, detectSchemaVersion))?.version).toBe('0009');
  });

  it('_prisma_migrations: the newest applied migration', async () => {
    const db = await database('prisma_detect');
    await migrateDatabase(targetOfUrl(db.url), {
      migrationsDir: path.join(REPO_ROOT, '__tests__', 'fixtures', 'prisma-app', 'prisma', 'migrations'),
      format: 'prisma',
      to: '20250301000000_add_user_name',
    });
    expect(await withClient(db.url, detectSchemaVersion)).toEqual({
      format: 'prisma',
      table: 'public._prisma_migrations',
      version: '20250301000000_add_user_name',
      applied: ['20250101000000_init', '20250201000000_add_post', '20250301000000_add_user_name'],
      dirty: false,
    });
  });
});

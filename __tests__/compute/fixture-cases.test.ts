import path from 'node:path';
import { annotationsFor } from '../../actions/compute-rollback-target/annotations.js';
import { listed } from '../../actions/compute-rollback-target/plan.js';
import { runAction } from '../../testkit/action-harness.js';
import { freshDatabases } from '../migrations/helpers.js';
import { createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, databaseState, expectSuccess, migrateTo, migrationsOf, warningsOf } from './support.js';

/**
 * One release per case found on real projects, each planned with compute-rollback-target against a
 * real database at that release (database-url): the class, the finding and the strategy of each.
 */
const BASE = {
  'db/migrations/0001_base.up.sql': `CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email varchar(320) NOT NULL,
  handle text,
  name text,
  login_count integer NOT NULL DEFAULT 0,
  bio varchar(2000)
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE TABLE sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL, expires_at timestamptz NOT NULL);
CREATE TABLE legacy_orders (id bigserial PRIMARY KEY, total numeric(12,2) NOT NULL);
INSERT INTO users (email, handle, name) VALUES ('ada@old.example', 'ada', 'Ada');
`,
  'db/migrations/0001_base.down.sql': 'DROP TABLE legacy_orders;\nDROP TABLE sessions;\nDROP TABLE users;\n',
};

/** Each case: the release that adds it, its migration's up and down files. */
const CASES: Record<string, { tag: string; version: string; up: string; down: string }> = {
  'drop of a pre-existing table, re-created by the down file': {
    tag: 'v1.1.0',
    version: '2',
    up: 'DROP TABLE IF EXISTS legacy_orders CASCADE;\nCREATE TABLE legacy_orders (id bigserial PRIMARY KEY, total_cents bigint NOT NULL);\n',
    down: 'DROP TABLE legacy_orders;\nCREATE TABLE legacy_orders (id bigserial PRIMARY KEY, total numeric(12,2) NOT NULL);\n',
  },
  'drop of a pre-existing column, re-added by the down file': {
    tag: 'v1.2.0',
    version: '3',
    up: 'ALTER TABLE users DROP COLUMN login_count;\n',
    down: 'ALTER TABLE users ADD COLUMN login_count integer NOT NULL DEFAULT 0;\n',
  },
  'UPDATE in a DO block': {
    tag: 'v1.3.0',
    version: '4',
    up: "DO $$\nBEGIN\n  UPDATE users SET email = regexp_replace(email, '@old\\.example$', '@example.com');\nEND\n$$;\n",
    down: "DO $$\nBEGIN\n  UPDATE users SET email = regexp_replace(email, '@example\\.com$', '@old.example');\nEND\n$$;\n",
  },
  'DELETE in a DO block': {
    tag: 'v1.4.0',
    version: '5',
    up: 'DO $$\nBEGIN\n  DELETE FROM sessions WHERE expires_at < now();\nEND\n$$;\n',
    down: '-- expired sessions are not brought back\nSELECT 1;\n',
  },
  'conditional CREATE TYPE in a DO block': {
    tag: 'v1.5.0',
    version: '6',
    up: "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'account_kind') THEN\n    CREATE TYPE account_kind AS ENUM ('person', 'team');\n  END IF;\nEND\n$$;\n",
    down: 'DROP TYPE IF EXISTS account_kind;\n',
  },
  'unique index drop': {
    tag: 'v1.6.0',
    version: '7',
    up: 'DROP INDEX users_email_key;\n',
    down: 'CREATE UNIQUE INDEX users_email_key ON users (email);\n',
  },
  'varchar to text': {
    tag: 'v1.7.0',
    version: '8',
    up: 'ALTER TABLE users ALTER COLUMN bio TYPE text;\n',
    down: 'ALTER TABLE users ALTER COLUMN bio TYPE varchar(2000);\n',
  },
  'down dropping a constraint the up created as an index': {
    tag: 'v1.8.0',
    version: '9',
    up: 'ALTER TABLE users RENAME COLUMN handle TO username;\nCREATE UNIQUE INDEX users_username_key ON users (username);\n',
    down: 'ALTER TABLE users DROP CONSTRAINT users_username_key;\nALTER TABLE users RENAME COLUMN username TO handle;\n',
  },
  'down dropping a constraint that does not exist': {
    tag: 'v1.9.0',
    version: '10',
    up: 'ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n',
    down: 'ALTER TABLE users DROP CONSTRAINT users_name_check;\nALTER TABLE users ALTER COLUMN name DROP NOT NULL;\n',
  },
};

function fileName(version: string, title: string, direction: 'up' | 'down'): string {
  return `db/migrations/${version.padStart(4, '0')}_${title.replace(/[^a-z]+/gi, '_').toLowerCase()}.${direction}.sql`;
}

const database = freshDatabases();

describe('fixture migrations for each case, planned against the database', () => {
  let repo: FixtureRepo;
  let dir: string;
  beforeAll(() => {
    repo = createFixtureRepo(
      [
        { tag: 'v1.0.0', files: BASE },
        ...Object.entries(CASES).map(([title, { tag, version, up, down }]) => ({
          tag,
          files: { [fileName(version, title, 'up')]: up, [fileName(version, title, 'down')]: down },
        })),
      ],
      { prefix: 'fixture-cases' },
    );
    dir = path.join(repo.dir, 'db', 'migrations');
  });
  afterAll(() => repo.remove());

  /** Plans rolling the case's release back to the one before it, on a database migrated up to it. */
  async function planCase(title: string, prefix: string) {
    const { tag, version } = CASES[title];
    const db = await database(prefix);
    await migrateTo(dir, db, version);
    const previous = `v1.${Number(tag.split('.')[1]) - 1}.0`;
    const result = await compute(repo.dir, {
      current: tag,
      target: previous,
      'migrations-dir': 'db/migrations',
      'database-url': db.url,
    });
    expectSuccess(result);
    const [migration] = migrationsOf(result);
    expect(migration.version).toBe(version);
    return { result, migration, db, previous };
  }

  it.each([
    [
      'drop of a pre-existing table, re-created by the down file',
      'case_table',
      ['legacy_orders'],
      /^drops table legacy_orders, which existed at v1\.0\.0: its rows are gone, and a down file can re-create the table, not them$/,
    ],
    [
      'drop of a pre-existing column, re-added by the down file',
      'case_column',
      ['users.login_count'],
      /^drops column users\.login_count, which existed at v1\.1\.0: its values are gone/,
    ],
    [
      'UPDATE in a DO block',
      'case_do_update',
      ['users.email'],
      /^overwrites users\.email in existing rows: .* \(in a DO block\)$/,
    ],
    [
      'DELETE in a DO block',
      'case_do_delete',
      ['sessions'],
      /^deletes rows of sessions: a down file cannot bring them back \(in a DO block\)$/,
    ],
  ])('%s: data-loss naming what is lost, strategy restore-backup', async (title, prefix, lost, reason) => {
    const { result, migration, previous } = await planCase(title, prefix);
    expect({ class: migration.class, dataLost: migration.dataLost, strategy: result.outputs.strategy }).toEqual({
      class: 'data-loss',
      dataLost: lost,
      strategy: 'restore-backup',
    });
    expect(migration.statements.find((statement) => statement.class === 'data-loss')?.reasons[0]).toMatch(reason);
    expect(JSON.parse(result.outputs.reasons)[0]).toMatch(
      new RegExp(
        `^${migration.version} [a-z_]+ destroyed data that existed at ${previous.replace(/\./g, '\\.')}: ${lost.join(', ').replace(/\./g, '\\.')} \\(`,
      ),
    );
    expect(result.summary).toContain(`### Data lost since ${previous}`);
    expect(result.summary).toContain(`- **${lost.join(', ')}**: ${migration.version} `);
  });

  it('conditional CREATE TYPE in a DO block: additive, image-only', async () => {
    const { result, migration } = await planCase('conditional CREATE TYPE in a DO block', 'case_do_type');
    expect(migration.class).toBe('additive');
    expect(migration.statements).toEqual([
      expect.objectContaining({
        line: 4,
        class: 'additive',
        reasons: ['creates an enum type: nothing old code reads or writes changes (in a DO block)'],
      }),
    ]);
    expect(result.outputs.strategy).toBe('image-only');
  });

  it('unique index drop: breaking, saying the down file fails once duplicates exist; down-migrations', async () => {
    const { result, migration } = await planCase('unique index drop', 'case_unique');
    expect(migration.class).toBe('breaking');
    expect(migration.statements[0].reasons[0]).toBe(
      'drops unique index users_email_key: old code may rely on it (ON CONFLICT, no duplicates), and re-creating it in the down file fails once duplicate values have been written',
    );
    expect(result.outputs.strategy).toBe('down-migrations');
    expect(warningsOf(result).map((warning) => warning.kind)).toEqual(['unique-dropped', 'revert-may-fail']);
  });

  it('varchar to text: additive with a warning that its down narrows it; image-only', async () => {
    const { result, migration } = await planCase('varchar to text', 'case_widen');
    expect(migration.class).toBe('additive');
    expect(migration.statements[0].reasons).toEqual([
      'widens users.bio from varchar(2000) to text: every value old code writes or reads still fits',
    ]);
    expect(result.outputs.strategy).toBe('image-only');
    expect(warningsOf(result)).toEqual([
      {
        kind: 'type-widening',
        migration: '8',
        message:
          '8 varchar_to_text line 1 widens users.bio from varchar(2000) to text; its down file narrows it back to varchar(2000), which fails once a value that does not fit has been written.',
      },
    ]);
    expect(result.warnings).toEqual([warningsOf(result)[0].message]);
  });

  it.each([
    [
      'down dropping a constraint the up created as an index',
      'case_index_as_constraint',
      'but its up migration created index users_username_key: `ALTER TABLE users DROP CONSTRAINT users_username_key` fails, as there is no constraint of that name.',
    ],
    [
      'down dropping a constraint that does not exist',
      'case_no_constraint',
      'which does not exist in the database when this runs: `ALTER TABLE users DROP CONSTRAINT users_name_check` fails.',
    ],
  ])(
    '%s: breaking, but apply-down-migrations would refuse its down file, so restore-backup; and it does refuse',
    async (title, prefix, problem) => {
      const { result, migration, db } = await planCase(title, prefix);
      expect(migration.class).toBe('breaking');
      expect(result.outputs.strategy).toBe('restore-backup');
      const file = fileName(CASES[title].version, title, 'down').replace('db/migrations/', '');
      const [reason] = JSON.parse(result.outputs.reasons) as string[];
      expect(reason).toBe(
        `apply-down-migrations would refuse the revert: ${file} line 1: drops constraint users_${problem.startsWith('but') ? 'username_key' : 'name_check'} on users, ${problem}`,
      );

      const before = await databaseState(db);
      const applied = await runAction('apply-down-migrations', {
        inputs: {
          'database-url': db.url,
          'migrations-dir': dir,
          'target-version': String(Number(CASES[title].version) - 1),
          'skip-backup-check': true,
        },
      });
      expect(applied.exitCode).toBe(1);
      expect(applied.errors[0]).toContain(reason.replace('apply-down-migrations would refuse the revert: ', ''));
      expect(applied.errors[0]).toContain('Nothing was changed.');
      expect(await databaseState(db)).toEqual(before);
    },
  );
});

describe('a diesel down file with CREATE INDEX CONCURRENTLY and no run_in_transaction = false', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    repo = createFixtureRepo(
      [
        {
          tag: 'v1.0.0',
          files: {
            'migrations/2024-01-01-000000_create_users/up.sql':
              'CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);\nCREATE INDEX users_name_idx ON users (name);\n',
            'migrations/2024-01-01-000000_create_users/down.sql': 'DROP TABLE users;\n',
          },
        },
        {
          tag: 'v1.1.0',
          files: {
            'migrations/2024-02-01-000000_rename_name/up.sql':
              'DROP INDEX users_name_idx;\nALTER TABLE users RENAME COLUMN name TO full_name;\n',
            'migrations/2024-02-01-000000_rename_name/down.sql':
              'ALTER TABLE users RENAME COLUMN full_name TO name;\nCREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n',
          },
        },
      ],
      { prefix: 'diesel-concurrently' },
    );
  });
  afterAll(() => repo.remove());

  it('is a revert apply-down-migrations refuses, so the plan is restore-backup, and apply-down-migrations does refuse it', async () => {
    const db = await database('case_concurrently');
    const dir = path.join(repo.dir, 'migrations');
    await migrateTo(dir, db, '20240201000000', 'diesel');
    const result = await compute(repo.dir, {
      current: 'v1.1.0',
      target: 'v1.0.0',
      'migrations-dir': 'migrations',
      'migrations-format': 'diesel',
      'database-url': db.url,
    });
    expectSuccess(result);
    const [migration] = migrationsOf(result);
    expect(migration.class).toBe('breaking');
    expect(result.outputs.strategy).toBe('restore-backup');
    const problem =
      '2024-02-01-000000_rename_name/down.sql holds CREATE INDEX CONCURRENTLY (line 2), which cannot run inside a transaction, but the file does not opt out of one: add run_in_transaction = false to its metadata.toml.';
    expect(JSON.parse(result.outputs.reasons)).toEqual([`apply-down-migrations would refuse the revert: ${problem}`]);

    const before = await databaseState(db, '__diesel_schema_migrations');
    const applied = await runAction('apply-down-migrations', {
      inputs: {
        'database-url': db.url,
        'migrations-dir': dir,
        'migrations-format': 'diesel',
        'target-version': '20240101000000',
        'skip-backup-check': true,
      },
    });
    expect(applied.exitCode).toBe(1);
    expect(applied.errors[0]).toContain(`${problem} Nothing was changed.`);
    expect(await databaseState(db, '__diesel_schema_migrations')).toEqual(before);
  });
});

describe('a plan with 150 similar findings', () => {
  let repo: FixtureRepo;
  const columns = Array.from({ length: 150 }, (_, index) => `c${index + 1}`);
  beforeAll(() => {
    repo = createFixtureRepo(
      [
        {
          tag: 'v1.0.0',
          files: {
            'db/migrations/0001_wide.up.sql': `CREATE TABLE wide (id bigserial PRIMARY KEY, ${columns.map((column) => `${column} varchar(100)`).join(', ')});\n`,
            'db/migrations/0001_wide.down.sql': 'DROP TABLE wide;\n',
          },
        },
        {
          tag: 'v1.1.0',
          files: {
            'db/migrations/0002_widen_all.up.sql': columns
              .map((column) => `ALTER TABLE wide ALTER COLUMN ${column} TYPE text;\n`)
              .join(''),
            'db/migrations/0002_widen_all.down.sql': columns
              .map((column) => `ALTER TABLE wide ALTER COLUMN ${column} TYPE varchar(100);\n`)
              .join(''),
          },
        },
      ],
      { prefix: 'many-findings' },
    );
  });
  afterAll(() => repo.remove());

  it('writes at most 10 annotations, grouped by kind, and every finding to the job summary', async () => {
    const result = await compute(repo.dir, { current: 'v1.1.0', target: 'v1.0.0', 'migrations-dir': 'db/migrations' });
    expectSuccess(result);
    const warnings = warningsOf(result);
    expect(warnings).toHaveLength(150);
    expect(new Set(warnings.map((warning) => warning.kind))).toEqual(new Set(['type-widening']));
    expect(result.warnings.length).toBeLessThanOrEqual(10);
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^150 type-widening findings \(all of them in the job summary\): 2: 2 widen_all line 1 widens wide\.c1 .* … and 147 more$/,
      ),
    ]);
    for (const warning of warnings) expect(result.summary).toContain(`- **type-widening** (2): ${warning.message}`);
  });

  it('keeps long lists in sentences short: ten items and how many more', () => {
    expect(listed(Array.from({ length: 12 }, (_, index) => String(index + 1)))).toBe(
      '1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more',
    );
    expect(listed(['5', '4'])).toBe('5, 4');
  });

  it('past ten kinds, the tenth annotation counts the rest', () => {
    const warnings = Array.from({ length: 24 }, (_, index) => ({
      kind: `kind-${index % 12}`,
      message: `finding ${index}`,
    }));
    const annotations = annotationsFor(warnings);
    expect(annotations).toHaveLength(10);
    expect(annotations[0]).toEqual({
      title: 'compute-rollback-target: 2 kind-0 findings',
      message: '2 kind-0 findings (all of them in the job summary): finding 0 | finding 12',
    });
    expect(annotations[9]).toEqual({
      title: 'compute-rollback-target: 6 more findings',
      message: '6 more findings of 3 other kinds (2 kind-9, 2 kind-10, 2 kind-11): see the job summary.',
    });
    expect(annotationsFor(warnings.slice(0, 10)).map((annotation) => annotation.message)).toEqual(
      warnings.slice(0, 10).map((warning) => warning.message),
    );
  });
});

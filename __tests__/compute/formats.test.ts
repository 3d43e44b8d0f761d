import { createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectSuccess, migrationsOf, warningsOf } from './support.js';

/** The dbmate and diesel layouts, read from git at each tag (golang-migrate is the demo history). */
describe('compute-rollback-target with dbmate migrations', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    const dbmate = (up: string, down?: string, downOptions = '') =>
      `-- migrate:up\n${up}\n${down === undefined ? '' : `-- migrate:down${downOptions}\n${down}\n`}`;
    repo = createFixtureRepo(
      [
        {
          tag: 'v1.0.0',
          files: {
            'db/migrations/20240101000000_create_users.sql': dbmate(
              'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, nickname text);',
              'DROP TABLE users;',
            ),
          },
        },
        {
          tag: 'v1.1.0',
          files: {
            'db/migrations/20240201000000_add_avatar.sql': dbmate(
              'ALTER TABLE users ADD COLUMN avatar_url text;',
              'ALTER TABLE users DROP COLUMN avatar_url;',
            ),
            'db/migrations/20240301000000_rename_email.sql': dbmate(
              'ALTER TABLE users RENAME COLUMN email TO login;',
              'ALTER TABLE users RENAME COLUMN login TO email;',
              ' transaction:false',
            ),
          },
        },
        {
          tag: 'v1.2.0',
          files: {
            // No "-- migrate:down" section at all, and one with nothing in it.
            'db/migrations/20240401000000_drop_nickname.sql': dbmate('ALTER TABLE users DROP COLUMN nickname;'),
            'db/migrations/20240402000000_seed_admin.sql': dbmate(
              "INSERT INTO users (login) VALUES ('admin@example.com');",
              '-- nothing to undo',
            ),
          },
        },
      ],
      { prefix: 'dbmate-repo' },
    );
  });
  afterAll(() => repo.remove());

  const run = (inputs: Record<string, string>) =>
    compute(repo.dir, { 'migrations-dir': 'db/migrations', 'migrations-format': 'dbmate', ...inputs });

  it('reverts with down sections when all are there', async () => {
    const result = await run({ current: 'v1.1.0', target: 'v1.0.0' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      strategy: 'down-migrations',
      'target-schema-version': '20240101000000',
      'current-schema-version': '20240301000000',
    });
    expect(
      migrationsOf(result).map((migration) => [
        migration.version,
        migration.class,
        migration.down,
        migration.downTransactional,
      ]),
    ).toEqual([
      ['20240301000000', 'breaking', '20240301000000_rename_email.sql (migrate:down)', false],
      ['20240201000000', 'additive', '20240201000000_add_avatar.sql (migrate:down)', true],
    ]);
  });

  it('a missing or empty down section is a hard finding: restore-backup, named in reasons and warnings', async () => {
    const result = await run({ current: 'v1.2.0', target: 'v1.1.0' });
    expectSuccess(result);
    expect(result.outputs.strategy).toBe('restore-backup');
    expect(migrationsOf(result).map((migration) => [migration.version, migration.class, migration.downStatus])).toEqual(
      [
        ['20240402000000', 'data-changing', 'empty'],
        ['20240401000000', 'data-loss', 'missing'],
      ],
    );
    expect(JSON.parse(result.outputs.reasons)).toEqual([
      '20240401000000 drop_nickname destroyed data that existed at v1.1.0: users.nickname (drops column users.nickname, which existed at v1.1.0: its values are gone, and a down file can re-create the column, not them). Only a backup taken before it ran has that data.',
      '20240402000000 seed_admin changes existing data (inserts rows into existing table users: old code finds rows it did not write).',
      '20240402000000 seed_admin has an empty down file: it cannot be reverted.',
      '20240401000000 drop_nickname has no down file: it cannot be reverted.',
    ]);
    expect(warningsOf(result).map((warning) => [warning.kind, warning.migration])).toEqual([
      ['empty-down', '20240402000000'],
      ['missing-down', '20240401000000'],
      ['data-loss', undefined],
    ]);
    expect(result.summary).toContain('| 20240401000000 | drop_nickname | data-loss | **missing** |');

    // Forcing down-migrations over a missing down file is reported, never silently accepted.
    const forced = await run({ current: 'v1.2.0', target: 'v1.1.0', 'db-policy': 'down-migrations' });
    expectSuccess(forced);
    expect(warningsOf(forced).at(-1)).toEqual({
      kind: 'policy-override',
      message: expect.stringMatching(
        /^db-policy forces down-migrations, but the findings call for restore-backup: .*has no down file/,
      ),
    });
  });
});

describe('compute-rollback-target with diesel migrations', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    repo = createFixtureRepo(
      [
        { tag: 'v0.9.0', files: { 'src/main.rs': 'fn main() {}\n' } },
        {
          tag: 'v1.0.0',
          files: {
            'migrations/2024-01-01-000000_create_posts/up.sql':
              'CREATE TABLE posts (id serial PRIMARY KEY, body text NOT NULL);\n',
            'migrations/2024-01-01-000000_create_posts/down.sql': 'DROP TABLE posts;\n',
          },
        },
        {
          tag: 'v1.1.0',
          files: {
            'migrations/2024-02-01-000000_add_published/up.sql':
              'ALTER TABLE posts ADD COLUMN published boolean NOT NULL DEFAULT false;\n',
            'migrations/2024-02-01-000000_add_published/down.sql': 'ALTER TABLE posts DROP COLUMN published;\n',
            'migrations/2024-03-01-000000_rename_body/up.sql': 'ALTER TABLE posts RENAME COLUMN body TO content;\n',
            'migrations/2024-03-01-000000_rename_body/down.sql': 'ALTER TABLE posts RENAME COLUMN content TO body;\n',
            'migrations/2024-03-01-000000_rename_body/metadata.toml': 'run_in_transaction = false\n',
          },
        },
      ],
      { prefix: 'diesel-repo' },
    );
  });
  afterAll(() => repo.remove());

  it('reads directories per migration, with versions as diesel records them', async () => {
    const result = await compute(repo.dir, {
      current: 'v1.1.0',
      target: 'v1.0.0',
      'migrations-dir': 'migrations',
      'migrations-format': 'diesel',
    });
    expectSuccess(result);
    expect(result.outputs.strategy).toBe('down-migrations');
    expect(
      migrationsOf(result).map((migration) => [
        migration.version,
        migration.name,
        migration.class,
        migration.down,
        migration.downTransactional,
      ]),
    ).toEqual([
      ['20240301000000', 'rename_body', 'breaking', '2024-03-01-000000_rename_body/down.sql', false],
      ['20240201000000', 'add_published', 'additive', '2024-02-01-000000_add_published/down.sql', true],
    ]);
    expect(result.outputs['target-schema-version']).toBe('20240101000000');
  });

  it('a target from before the migrations directory existed reverts every migration (each one additive for it: it never had the table)', async () => {
    const result = await compute(repo.dir, {
      current: 'v1.1.0',
      target: 'v0.9.0',
      'migrations-dir': 'migrations',
      'migrations-format': 'diesel',
      'db-policy': 'down-migrations',
    });
    expectSuccess(result);
    expect(migrationsOf(result).map((migration) => [migration.version, migration.class])).toEqual([
      ['20240301000000', 'additive'],
      ['20240201000000', 'additive'],
      ['20240101000000', 'additive'],
    ]);
    expect(migrationsOf(result)[0].statements[0].reasons).toEqual([
      'renames inside posts, a table migration 20240101000000 create_posts creates',
    ]);
    expect(result.outputs['target-schema-version']).toBe('0');
    expect(result.outputs).toMatchObject({ strategy: 'down-migrations', 'recommended-strategy': 'image-only' });
    expect(
      warningsOf(result)
        .filter((warning) => warning.kind === 'data-loss')
        .map((warning) => warning.message),
    ).toEqual([
      expect.stringMatching(/drops column posts.published/),
      expect.stringMatching(
        /drops table posts: every row written to it since migration 20240101000000 create_posts was applied is lost/,
      ),
    ]);
  });
});

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { createDemoRepo, createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectRefused, expectSuccess, migrationsOf, warningsOf } from './support.js';

/**
 * compute-rollback-target end to end: the bundle run as the runner runs it, against a real git
 * repository with the demo app's release history (v1.0.0..v1.3.0, migrations 0001..0005, 0004 the
 * breaking rename) plus a release candidate and tags that are not releases.
 */
describe('compute-rollback-target on the demo release history', () => {
  let repo: FixtureRepo;
  const run = (inputs: Record<string, string>) => compute(repo.dir, { 'migrations-dir': 'db/migrations', ...inputs });

  beforeAll(() => {
    repo = createDemoRepo();
  });
  afterAll(() => repo.remove());

  it('explicit target: v1.3.0 -> v1.1.0 reverts 0005 and 0004 with their down files, because 0004 is breaking', async () => {
    const result = await run({ current: 'v1.3.0', target: 'v1.1.0' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'current-tag': 'v1.3.0',
      'target-tag': 'v1.1.0',
      'current-schema-version': '5',
      'target-schema-version': '3',
      strategy: 'down-migrations',
      'recommended-strategy': 'down-migrations',
    });
    const migrations = migrationsOf(result);
    expect(
      migrations.map((migration) => [migration.version, migration.name, migration.class, migration.downStatus]),
    ).toEqual([
      ['5', 'add_project_archived', 'additive', 'present'],
      ['4', 'rename_project_title', 'breaking', 'present'],
    ]);
    expect(migrations[1].statements).toEqual([
      {
        sql: 'ALTER TABLE projects RENAME COLUMN title TO name',
        line: 1,
        class: 'breaking',
        reasons: ['renames column projects.title to name: old code still uses projects.title'],
      },
    ]);
    expect(migrations[0].down).toBe('0005_add_project_archived.down.sql');
    // Reverting 0005 drops a column that has collected data since: the plan says so.
    expect(warningsOf(result)).toEqual([
      expect.objectContaining({
        kind: 'data-loss',
        migration: '5',
        message: expect.stringMatching(/drops column projects.archived/),
      }),
    ]);
    expect(result.warnings).toEqual([expect.stringMatching(/drops column projects.archived/)]);
    expect(result.outputs.verdict).toMatch(
      /^Revert 2 migration\(s\) \(5, 4\) with their down files to schema 3, then deploy v1.1.0\. .*rename_project_title is breaking/,
    );
    expect(result.summary).toContain('## Rollback plan: v1.3.0 → v1.1.0');
    expect(result.summary).toContain(
      '| 4 | rename_project_title | breaking | present | — | renames column projects.title to name: old code still uses projects.title |',
    );
    expect(result.events).toEqual([
      expect.objectContaining({
        event: 'rollback_plan',
        current: 'v1.3.0',
        target: 'v1.1.0',
        strategy: 'down-migrations',
        migrations: ['5', '4'],
      }),
    ]);
  });

  it('previous: the semver predecessor of v1.3.0 is v1.2.0 (the release candidate is passed over); 0005 is additive, so image-only', async () => {
    const result = await run({ current: 'v1.3.0', target: 'previous' });
    expectSuccess(result);
    expect(result.outputs['target-tag']).toBe('v1.2.0');
    expect(result.outputs.strategy).toBe('image-only');
    expect(result.outputs['target-schema-version']).toBe('4');
    expect(migrationsOf(result).map((migration) => [migration.version, migration.class])).toEqual([['5', 'additive']]);
    expect(JSON.parse(result.outputs.reasons)).toEqual([
      'Every migration since v1.2.0 is additive (5 add_project_archived): v1.2.0 runs on the current schema.',
    ]);
    // Reverting is not the plan, so its data loss is no warning; the matrix still shows the cost.
    expect(warningsOf(result)).toEqual([]);
    expect(result.outputs.verdict).toMatch(/^Deploy v1.2.0 in place of v1.3.0 and keep the database at schema 5\./);
    expect(result.summary).toMatch(/\| v1.3.0-rc.1 \| a pre-release \(set allow-prerelease: true to allow it\) \|/);
    expect(result.summary).toContain('Ignored tag vnext: not a semantic version after the prefix "v".');
    expect(result.log).toContain('Ignoring tag v1.1: not a semantic version after the prefix "v".');
  });

  it('previous honours allow-prerelease, skip-tags and same-minor', async () => {
    const withRc = await run({ current: 'v1.3.0', target: 'previous', 'allow-prerelease': 'true' });
    expectSuccess(withRc);
    expect(withRc.outputs['target-tag']).toBe('v1.3.0-rc.1');
    expect(migrationsOf(withRc)).toEqual([]);
    expect(JSON.parse(withRc.outputs.reasons)).toEqual([
      'v1.3.0-rc.1 has every migration the current release has: nothing to revert.',
    ]);

    const skipping = await run({ current: 'v1.3.0', target: 'previous', 'skip-tags': 'v1.2.0' });
    expectSuccess(skipping);
    expect(skipping.outputs['target-tag']).toBe('v1.1.0');
    expect(migrationsOf(skipping).map((migration) => migration.version)).toEqual(['5', '4']);
    expect(skipping.summary).toMatch(/\| v1.2.0 \| listed in skip-tags \|/);

    const sameMinor = await run({ current: 'v1.3.0', target: 'previous', 'same-minor': 'true' });
    expectRefused(
      sameMinor,
      /^Input "target" is "previous", but no release older than v1.3.0 qualifies\. Passed over: v1.3.0-rc.1 \(a pre-release .*\); v1.2.0 \(minor version differs from 1.3 \(same-minor\)\)/,
    );
  });

  it('previous from v1.2.0 is v1.1.0: the breaking rename must be reverted', async () => {
    const result = await run({ current: 'v1.2.0', target: 'previous' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'target-tag': 'v1.1.0',
      strategy: 'down-migrations',
      'target-schema-version': '3',
      'current-schema-version': '4',
    });
    expect(migrationsOf(result).map((migration) => migration.version)).toEqual(['4']);
  });

  it('db-policy forces a strategy and warns when the findings contradict it', async () => {
    const forced = await run({ current: 'v1.3.0', target: 'v1.2.0', 'db-policy': 'down-migrations' });
    expectSuccess(forced);
    expect(forced.outputs.strategy).toBe('down-migrations');
    expect(forced.outputs['recommended-strategy']).toBe('image-only');
    expect(warningsOf(forced)).toEqual([
      expect.objectContaining({ kind: 'data-loss', migration: '5' }),
      expect.objectContaining({
        kind: 'policy-override',
        message: expect.stringMatching(
          /^db-policy forces down-migrations although Every migration since v1.2.0 is additive/,
        ),
      }),
    ]);
    expect(forced.outputs.verdict).toMatch(
      /^Forced by db-policy \(the findings call for image-only\)\. Revert 1 migration/,
    );

    const imageOnly = await run({ current: 'v1.3.0', target: 'v1.1.0', 'db-policy': 'image-only' });
    expectSuccess(imageOnly);
    expect(imageOnly.outputs.strategy).toBe('image-only');
    expect(warningsOf(imageOnly)).toEqual([
      expect.objectContaining({
        kind: 'policy-override',
        message: expect.stringMatching(
          /image-only, but the findings call for down-migrations: .*v1.1.0 may fail against the current schema/,
        ),
      }),
    ]);

    const agreeing = await run({ current: 'v1.3.0', target: 'v1.2.0', 'db-policy': 'image-only' });
    expectSuccess(agreeing);
    expect(warningsOf(agreeing)).toEqual([]);
  });

  it('a compatibility file overrides what git says: v1.0.0 runs on schema 3, so only 0004 is reverted', async () => {
    const matrix = path.join(repo.dir, 'compatibility.yml');
    writeFileSync(
      matrix,
      [
        '# The runbook matrix: app version range -> schema versions it runs on',
        'releases:',
        '  - { versions: "1.0.x", min-schema: 2, max-schema: 3 }',
        '  - { versions: "1.1.x", min-schema: 3, max-schema: 3 }',
        '  - { versions: ">=1.2.0 <1.4.0", min-schema: 4, max-schema: 5 }',
        '',
      ].join('\n'),
    );
    const fromGit = await run({ current: 'v1.2.0', target: 'v1.0.0' });
    expectSuccess(fromGit);
    expect(migrationsOf(fromGit).map((migration) => migration.version)).toEqual(['4', '3']);
    expect(fromGit.outputs['target-schema-version']).toBe('2');

    const fromMatrix = await run({ current: 'v1.2.0', target: 'v1.0.0', 'compatibility-file': 'compatibility.yml' });
    expectSuccess(fromMatrix);
    expect(migrationsOf(fromMatrix).map((migration) => migration.version)).toEqual(['4']);
    expect(fromMatrix.outputs['target-schema-version']).toBe('3');
    expect(fromMatrix.outputs.strategy).toBe('down-migrations');
    expect(JSON.parse(fromMatrix.outputs.reasons)[0]).toBe(
      'The compatibility file says v1.0.0 cannot run with 4 rename_project_title applied.',
    );
    expect(fromMatrix.summary).toContain('Kept (the compatibility file says v1.0.0 runs with them)');

    const compatible = await run({ current: 'v1.3.0', target: 'v1.2.0', 'compatibility-file': 'compatibility.yml' });
    expectSuccess(compatible);
    expect(compatible.outputs.strategy).toBe('image-only');
    expect(migrationsOf(compatible)).toEqual([]);
    expect(JSON.parse(compatible.outputs.reasons)).toEqual([
      'The compatibility file says v1.2.0 (>=1.2.0 <1.4.0) runs on schemas 4..5, which includes the current schema 5.',
    ]);

    writeFileSync(path.join(repo.dir, 'broken.yml'), 'releases:\n  - { versions: "not a range", max-schema: 3 }\n');
    expectRefused(
      await run({ current: 'v1.3.0', target: 'v1.2.0', 'compatibility-file': 'broken.yml' }),
      /^Input "compatibility-file" .*releases\[0\]\.versions must be a semver range/,
    );
  });

  describe('bad inputs are refused with a clear error before anything else happens', () => {
    const TOKEN = 'ghs_compute_bad_inputs';
    let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
    beforeAll(async () => {
      fake = await startFakeGitHub({ token: TOKEN });
    });
    afterAll(() => fake.server.stop());
    beforeEach(() => {
      fake.server.requests.length = 0;
    });
    const withApi = (inputs: Record<string, string>) =>
      compute(
        repo.dir,
        { 'migrations-dir': 'db/migrations', 'github-token': TOKEN, ...inputs },
        { env: fake.server.env() },
      );

    it('a target tag that does not exist', async () => {
      const result = await withApi({ current: 'v1.3.0', target: 'v1.9.0' });
      expectRefused(
        result,
        /^Input "target" names tag v1.9.0, which does not exist: it is not among the 5 release tag\(s\) with prefix "v" found in the checkout and the GitHub releases\/tags API\./,
      );
      // Only the tag listings ran, no deployments were read.
      expect(fake.server.requests.map((request) => request.path.split('?')[0]).sort()).toEqual([
        '/repos/acme/shop/releases',
        '/repos/acme/shop/tags',
      ]);
    });

    it('a target newer than current', async () => {
      expectRefused(
        await withApi({ current: 'v1.1.0', target: 'v1.2.0' }),
        /^Input "target" names v1.2.0, which is newer than the current version v1.1.0: a rollback goes to an older release\./,
      );
    });

    it('a target equal to current is no error: the plan is that there is nothing to roll back', async () => {
      const same = await withApi({ current: 'v1.2.0', target: 'v1.2.0' });
      expectSuccess(same);
      expect(same.outputs).toMatchObject({
        'current-tag': 'v1.2.0',
        'target-tag': 'v1.2.0',
        'nothing-to-roll-back': 'true',
        strategy: 'image-only',
        migrations: '[]',
      });
      expect(same.outputs.verdict).toBe('v1.2.0 is already the current version: nothing to roll back.');
      const different = await withApi({ current: 'v1.3.0', target: 'v1.2.0' });
      expectSuccess(different);
      expect(different.outputs['nothing-to-roll-back']).toBe('false');
    });

    it.each([['v1.2.0; rm -rf /'], ['$(curl evil.example)'], ['v1.2.0`id`'], ['v1.2.0 && true'], ['../../etc/passwd']])(
      'a tag with shell metacharacters: %s',
      async (target) => {
        const result = await withApi({ current: 'v1.3.0', target });
        expectRefused(
          result,
          /^Input "target" must be "previous", "last-successful-deployment" or an image tag .*; got /,
        );
        expect(fake.server.requests).toEqual([]);
      },
    );

    it.each([['v1.1'], ['latest'], ['vnext']])('a non-semver target: %s', async (target) => {
      const result = await withApi({ current: 'v1.3.0', target });
      expectRefused(
        result,
        new RegExp(
          `^Input "target" must be a release tag: "v" followed by a semantic version; got "${target}", which is not one\\.`,
        ),
      );
      expect(fake.server.requests).toEqual([]);
    });

    it('a target without the tag prefix, with what was meant', async () => {
      expectRefused(
        await withApi({ current: 'v1.3.0', target: '1.2.0' }),
        /got "1.2.0", which is not one\.\nHint: did you mean "v1.2.0"\?/,
      );
    });

    it('a migration directory that does not exist', async () => {
      const result = await withApi({ current: 'v1.3.0', target: 'v1.2.0', 'migrations-dir': 'db/migratoins' });
      expectRefused(
        result,
        /^Input "migrations-dir" "db\/migratoins" does not exist: there is no such directory in the checkout/,
      );
      expect(fake.server.requests).toEqual([]);
    });

    it('a migration directory outside the repository, and a format that does not match the files', async () => {
      expectRefused(
        await withApi({ current: 'v1.3.0', target: 'v1.2.0', 'migrations-dir': '../elsewhere' }),
        /^Input "migrations-dir" must be a directory inside the repository/,
      );
      expectRefused(
        await withApi({ current: 'v1.3.0', target: 'v1.2.0', 'migrations-format': 'diesel' }),
        /^Input "migrations-format" is "diesel", but none of the 10 SQL file\(s\) in "db\/migrations" at v1.3.0 is laid out that way/,
      );
      expectRefused(
        await withApi({ current: 'v1.3.0', target: 'v1.2.0', 'migrations-format': 'dbmate' }),
        /^Input "migrations-format" is "dbmate", but "db\/migrations" at v1.3.0 does not read as dbmate migrations: 0001_create_users.down.sql .* has no "-- migrate:up" section\./,
      );
    });

    it('a current version that is not a tag, and last-successful-deployment without an environment', async () => {
      expectRefused(
        await withApi({ current: 'v7.0.0', target: 'previous' }),
        /^Input "current" names v7.0.0, which is not a tag of this repository/,
      );
      expectRefused(
        await withApi({ current: 'v1.3.0', target: 'last-successful-deployment' }),
        /^Input "target" is "last-successful-deployment", which reads the Deployments API: set "environment" too \(or "ledger" to read the deployment ledger\)\./,
      );
      expect(fake.server.requests.filter((request) => request.path.includes('deployments'))).toEqual([]);
    });
  });
});

describe('classifying a set of known migrations through the action', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    const base = {
      'db/migrations/0001_create_users.up.sql':
        'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, name text, legacy_id int, title text);\n',
      'db/migrations/0001_create_users.down.sql': 'DROP TABLE users;\n',
    };
    const known: Record<string, [string, string]> = {
      '0002_add_nickname': [
        'ALTER TABLE users ADD COLUMN nickname text;\nCREATE INDEX users_nickname_idx ON users (nickname);\n',
        'DROP INDEX users_nickname_idx;\nALTER TABLE users DROP COLUMN nickname;\n',
      ],
      '0003_rename_title': [
        'ALTER TABLE users RENAME COLUMN title TO headline;\n',
        'ALTER TABLE users RENAME COLUMN headline TO title;\n',
      ],
      '0004_drop_legacy_id': [
        'ALTER TABLE users DROP COLUMN legacy_id;\n',
        'ALTER TABLE users ADD COLUMN legacy_id int;\n',
      ],
      '0005_require_name': [
        'ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n',
        'ALTER TABLE users ALTER COLUMN name DROP NOT NULL;\n',
      ],
      '0006_lowercase_emails': [
        '-- normalise before the unique index of 0007\nUPDATE users SET email = lower(email);\n',
        '-- the original casing is gone\nSELECT 1;\n',
      ],
      '0007_garbage': [
        'ALTER TABLE users ADD COLUMN ;\nCREATE INDEX users_email_idx ON users (email);\n',
        'DROP INDEX users_email_idx;\n',
      ],
    };
    const added = Object.fromEntries(
      Object.entries(known).flatMap(([name, [up, down]]) => [
        [`db/migrations/${name}.up.sql`, up],
        [`db/migrations/${name}.down.sql`, down],
      ]),
    );
    repo = createFixtureRepo(
      [
        { tag: 'v1.0.0', files: base },
        { tag: 'v2.0.0', files: added },
      ],
      { prefix: 'known-migrations' },
    );
  });
  afterAll(() => repo.remove());

  it('classifies additive, rename, drop column, set not null, data update and garbage SQL, and picks restore-backup', async () => {
    const result = await compute(repo.dir, { current: 'v2.0.0', target: 'v1.0.0', 'migrations-dir': 'db/migrations' });
    expectSuccess(result);
    const migrations = migrationsOf(result);
    expect(migrations.map((migration) => [migration.version, migration.class])).toEqual([
      ['7', 'unknown'],
      ['6', 'data-loss'],
      ['5', 'breaking'],
      ['4', 'data-loss'],
      ['3', 'breaking'],
      ['2', 'additive'],
    ]);
    const byVersion = Object.fromEntries(migrations.map((migration) => [migration.version, migration]));
    expect(byVersion['7'].statements.map((statement) => [statement.line, statement.class])).toEqual([
      [1, 'unknown'],
      [2, 'additive'],
    ]);
    expect(byVersion['7'].statements[0].reasons[0]).toMatch(
      /^PostgreSQL's grammar rejects it \(syntax error at or near ";"\); treated as breaking$/,
    );
    expect(byVersion['6'].statements).toEqual([
      {
        sql: 'UPDATE users SET email = lower(email)',
        line: 2,
        class: 'data-loss',
        reasons: [
          'overwrites users.email in existing rows: the values they held are gone, and a down file cannot restore them',
        ],
        lost: ['users.email'],
      },
    ]);
    expect(byVersion['6'].dataLost).toEqual(['users.email']);
    expect(byVersion['5'].statements[0].reasons).toEqual([
      "makes users.name NOT NULL: old code's inserts that leave it empty fail",
    ]);
    expect(byVersion['4'].statements[0].reasons).toEqual([
      'drops column users.legacy_id, which existed at v1.0.0: its values are gone, and a down file can re-create the column, not them',
    ]);
    expect(byVersion['3'].statements[0].reasons).toEqual([
      'renames column users.title to headline: old code still uses users.title',
    ]);
    expect(byVersion['2'].statements.map((statement) => statement.class)).toEqual(['additive', 'additive']);

    expect(result.outputs.strategy).toBe('restore-backup');
    expect(JSON.parse(result.outputs.reasons)).toEqual([
      '6 lowercase_emails destroyed data that existed at v1.0.0: users.email (overwrites users.email in existing rows: the values they held are gone, and a down file cannot restore them). Only a backup taken before it ran has that data.',
      '4 drop_legacy_id destroyed data that existed at v1.0.0: users.legacy_id (drops column users.legacy_id, which existed at v1.0.0: its values are gone, and a down file can re-create the column, not them). Only a backup taken before it ran has that data.',
    ]);
    expect(result.outputs.verdict).toMatch(
      /^Restore a database backup taken before 2 add_nickname ran \(schema 1\), then deploy v1.0.0\. 6 lowercase_emails destroyed data that existed at v1.0.0: users.email /,
    );
    expect(result.outputs.verdict).toMatch(/Planned from git only: the database was not read \(no database-url\)\.$/);
    expect(result.summary).toContain('### Data lost since v1.0.0');
    expect(result.summary).toContain(
      '- **users.legacy_id**: 4 drop_legacy_id line 1, `ALTER TABLE users DROP COLUMN legacy_id`',
    );
    const warnings = warningsOf(result);
    expect(warnings.map((warning) => warning.kind)).toEqual(['unanalysed-sql', 'data-loss']);
    expect(warnings[0].message).toMatch(/^7 garbage line 1: PostgreSQL's grammar rejects it/);
  });
});

describe('a release that destroyed a table', () => {
  let repo: FixtureRepo;
  beforeAll(() => {
    repo = createFixtureRepo(
      [
        {
          tag: 'v1.0.0',
          files: {
            'db/migrations/0001_init.up.sql':
              'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\nCREATE TABLE sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL);\n',
            'db/migrations/0001_init.down.sql': 'DROP TABLE sessions;\nDROP TABLE users;\n',
          },
        },
        {
          tag: 'v1.1.0',
          files: {
            'db/migrations/0002_drop_sessions.up.sql': 'DROP TABLE sessions;\n',
            'db/migrations/0002_drop_sessions.down.sql':
              'CREATE TABLE sessions (id bigserial PRIMARY KEY, user_id bigint NOT NULL);\n',
          },
        },
      ],
      { prefix: 'dropped-table' },
    );
  });
  afterAll(() => repo.remove());

  it('names restore-db tables as the remedy for just that table, in the reasons and the verdict', async () => {
    const result = await compute(repo.dir, { current: 'v1.1.0', target: 'v1.0.0', 'migrations-dir': 'db/migrations' });
    expectSuccess(result);
    expect(result.outputs.strategy).toBe('restore-backup');
    expect(JSON.parse(result.outputs.reasons)).toEqual([
      '2 drop_sessions destroyed data that existed at v1.0.0: sessions (drops table sessions, which existed at v1.0.0: its rows are gone, and a down file can re-create the table, not them). Only a backup taken before it ran has that data.',
      'For the table(s) it destroyed (sessions), restore-db `tables: sessions` brings back only their rows from that backup (or a pgBackRest side cluster), into the tables once a down migration has recreated them empty (`tables-content: definition-and-data` where they no longer exist, `tables-schema` to compare first), keeping everything else written since.',
    ]);
    expect(result.outputs.verdict).toContain(
      'To keep what was written since, restore only sessions from it (restore-db tables).',
    );
  });
});

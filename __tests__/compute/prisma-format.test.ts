import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { createFixtureRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectSuccess, migrationsOf } from './support.js';

/** The Prisma layout (__tests__/fixtures/prisma-app), read from git at each tag. */
describe('compute-rollback-target with prisma migrations', () => {
  // The checkout is the newest release: one repository where every down.sql is there, one whose newest release removed one.
  let complete: FixtureRepo;
  let withoutDown: FixtureRepo;
  beforeAll(() => {
    const fixture = path.join(REPO_ROOT, '__tests__', 'fixtures', 'prisma-app', 'prisma', 'migrations');
    const files = (names: string[]) =>
      Object.fromEntries(
        names.flatMap((name) =>
          ['migration.sql', 'down.sql'].map((file) => [
            `prisma/migrations/${name}/${file}`,
            readFileSync(path.join(fixture, name, file), 'utf8'),
          ]),
        ),
      );
    const releases = [
      { tag: 'v1.0.0', files: files(['20250101000000_init', '20250201000000_add_post']) },
      { tag: 'v1.1.0', files: files(['20250301000000_add_user_name']) },
      { tag: 'v1.2.0', files: files(['20250401000000_post_status']) },
    ];
    complete = createFixtureRepo(releases, { prefix: 'prisma-repo' });
    withoutDown = createFixtureRepo(
      [...releases, { tag: 'v1.2.1', remove: ['prisma/migrations/20250401000000_post_status/down.sql'] }],
      { prefix: 'prisma-nodown' },
    );
  });
  afterAll(() => {
    complete.remove();
    withoutDown.remove();
  });

  const run = (repo: FixtureRepo, inputs: Record<string, string>) =>
    compute(repo.dir, { 'migrations-dir': 'prisma/migrations', 'migrations-format': 'prisma', ...inputs });

  it('reverts with down.sql files; versions are the migration directory names', async () => {
    const result = await run(complete, { current: 'v1.2.0', target: 'v1.0.0' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      strategy: 'down-migrations',
      'target-schema-version': '20250201000000_add_post',
      'current-schema-version': '20250401000000_post_status',
    });
    expect(migrationsOf(result).map((migration) => [migration.version, migration.class, migration.down])).toEqual([
      ['20250401000000_post_status', 'breaking', '20250401000000_post_status/down.sql'],
      ['20250301000000_add_user_name', 'additive', '20250301000000_add_user_name/down.sql'],
    ]);
  });

  it('a migration without down.sql: the plan is restore-backup, naming it', async () => {
    const result = await run(withoutDown, { current: 'v1.2.1', target: 'v1.1.0' });
    expectSuccess(result);
    expect(result.outputs.strategy).toBe('restore-backup');
    expect(migrationsOf(result).map((migration) => [migration.version, migration.downStatus])).toEqual([
      ['20250401000000_post_status', 'missing'],
    ]);
    expect(JSON.parse(result.outputs.reasons)).toContain(
      '20250401000000_post_status post_status has no down file: it cannot be reverted.',
    );
  });
});

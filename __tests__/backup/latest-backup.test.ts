import { runAction } from '../../testkit/action-harness.js';
import type { TestDatabase } from '../../testkit/database.js';
import { Cleanup, createRichDatabase, rowCountsOf } from './fixtures.js';
import { READ_TOKEN, startStandIns, type StandIns } from '../../testkit/backup-stand-ins.js';

/**
 * "Restore the latest backup of production": found through the REST API among the repository's
 * artifacts, by label, skipping other labels (even ones that start the same), expired artifacts and
 * backups of other runs when a run is named.
 */
describe('restore-db artifact-name: latest', () => {
  let db: TestDatabase;
  let standIns: StandIns;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    [db, standIns] = await Promise.all([createRichDatabase('latest'), startStandIns()]);
  });
  afterAll(async () => {
    await cleanup.run();
    await db.drop();
    await standIns.stop();
  });

  async function backupWithOrders(runId: number, label: string, orders: number): Promise<string> {
    await db.query('DELETE FROM orders WHERE id > $1', [orders]);
    const result = await runAction('backup-db', {
      inputs: { 'database-url': db.url, label },
      env: standIns.env(runId),
    });
    expect(result.errors).toEqual([]);
    return result.outputs['artifact-name'];
  }

  it('picks the newest unexpired backup of the label across runs', async () => {
    const older = await backupWithOrders(2001, 'prod', 1200);
    const newer = await backupWithOrders(2002, 'prod', 900);
    // Later backups of other labels, one of which starts with "prod": never candidates.
    await backupWithOrders(2003, 'prod-eu', 800);
    await backupWithOrders(2003, 'staging', 700);
    const newest = await backupWithOrders(2004, 'prod', 600);
    standIns.artifacts.expire(standIns.artifacts.find(newest)!.id);

    const restore = await runAction('restore-db', {
      inputs: { 'database-url': db.url, 'artifact-name': 'latest', label: 'prod' },
      env: standIns.env(2010),
      githubToken: READ_TOKEN,
    });
    cleanup.add(restore.outputs.database);
    expect(restore.errors).toEqual([]);
    expect(restore.log).toContain(
      `Latest backup for label "prod": ${newer} (id ${standIns.artifacts.find(newer)!.id}, run 2002,`,
    );
    expect((await rowCountsOf(restore.outputs.database))['public.orders']).toBe(900);
    expect(
      standIns.github.server.requests.some(
        (request) =>
          request.path.startsWith('/repos/acme/shop/actions/artifacts?') &&
          request.authorization === `token ${READ_TOKEN}`,
      ),
    ).toBe(true);

    // Within one run: that run's backup of the label.
    const inRun = await runAction('restore-db', {
      inputs: { 'database-url': db.url, 'artifact-name': 'latest', label: 'prod', 'run-id': 2001 },
      env: standIns.env(2010),
      githubToken: READ_TOKEN,
    });
    cleanup.add(inRun.outputs.database);
    expect(inRun.errors).toEqual([]);
    expect(inRun.log).toContain(`Latest backup for label "prod": ${older}`);
    expect((await rowCountsOf(inRun.outputs.database))['public.orders']).toBe(1200);
  });

  it('says clearly when a label has no backup, and when the token cannot read artifacts', async () => {
    const none = await runAction('restore-db', {
      inputs: { 'database-url': db.url, 'artifact-name': 'latest', label: 'qa' },
      env: standIns.env(2011),
      githubToken: READ_TOKEN,
    });
    expect(none.exitCode).toBe(1);
    expect(none.errors[0]).toMatch(
      /^No unexpired backup artifact for label "qa" in acme\/shop \(looked at \d+ artifact\(s\) named db-backup-qa-<timestamp>-<database>\)\./,
    );

    const denied = await runAction('restore-db', {
      inputs: {
        'database-url': db.url,
        'artifact-name': 'latest',
        label: 'prod',
        'github-token': 'ghs_wrong_token_1234',
      },
      env: standIns.env(2011),
    });
    expect(denied.exitCode).toBe(1);
    expect(denied.errors[0]).toMatch(/^Listing the artifacts of acme\/shop failed: Bad credentials/);
    expect(denied.log).not.toContain('ghs_wrong_token_1234');
  });
});

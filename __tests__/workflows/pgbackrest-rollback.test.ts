import { findCalled } from '../../scripts/demo/scenario.js';
import type { RunSettings } from '../../scripts/demo/world.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';
import {
  expectRecoveredInPlace,
  pgBackRestSettings,
  startPgBackRestShop,
  usersSince,
  type PgBackRestShop,
} from './pgbackrest-shop.js';

/**
 * rollback.yml with backup-method pgbackrest, end to end through the local runner on the demo app
 * (its repository, the deploy host's compose project on a real dockerd): the app's database lives
 * in a cluster archiving into a pgBackRest stanza (Debian's pgbackrest, a posix repository). The
 * deploy pipeline (action-docs/examples/deploy.yml) takes the restore point
 * production-pre-deploy-<tag> before it migrates; the broken release then writes. The rollback
 * with db-policy restore-backup takes its own restore point (the state it is about to discard),
 * stops the app, recovers the cluster in place to the pre-deploy point, redeploys the last good
 * release and smoke-tests it.
 */
describe('the rollback with backup-method pgbackrest', () => {
  let shop: PgBackRestShop;
  let settings: RunSettings;
  let rollback: WorkflowRun;
  let caller: WorkflowRun;
  let usersAtPoint: string;
  let versionAtPoint: string;
  let usersBroken: string;
  let rollbackStarted: number;
  let rollbackEnded: number;

  beforeAll(async () => {
    shop = await startPgBackRestShop('pgbackrest-rollback');
    const { cluster, users, schemaVersion } = shop;
    const deploy = (tag: string) => shop.deploy(tag, settings);
    settings = pgBackRestSettings(cluster, { ROLLBACK_PGBACKREST_CONFIG: cluster.config });
    await deploy('v1.1.0');
    await cluster.query(
      'shop',
      "INSERT INTO users (email, password_hash) SELECT 'u' || g || '@example.com', 'x' FROM generate_series(1, 200) g",
    );
    await cluster.pgbackrest(['backup', '--type=full']);
    await cluster.query('shop', "INSERT INTO users (email, password_hash) VALUES ('after-backup@example.com', 'x')");
    usersAtPoint = await users();
    versionAtPoint = await schemaVersion();
    const v120 = await deploy('v1.2.0');
    expect(v120.jobs.deploy.outputs['restore-point']).toBe('production-pre-deploy-v1.2.0');
    expect(await schemaVersion()).not.toBe(versionAtPoint);
    // What the broken release did to the data.
    await cluster.query(
      'shop',
      "DELETE FROM users WHERE id % 4 = 0; INSERT INTO users (email, password_hash) VALUES ('broken@example.com', 'x')",
    );
    usersBroken = await users();
    expect(usersBroken).not.toBe(usersAtPoint);

    rollbackStarted = Date.now();
    caller = await shop.world.run(
      'rollback.yml',
      { environment: 'production', 'target-tag': 'v1.1.0', 'db-policy': 'restore-backup', reason: 'pgbackrest drill' },
      settings,
    );
    rollbackEnded = Date.now();
    rollback = findCalled(caller, 'rollback');
  }, 1_200_000);

  afterAll(async () => {
    await shop?.stop();
  });

  it('recovers the database in place to the pre-deploy restore point and brings the last good release back', async () => {
    expectRecoveredInPlace(shop, caller, rollback);
    expect(rollback.jobs.plan.outputs.strategy).toBe('restore-backup');
    const outputs = rollback.jobs.rollback.outputs;
    expect(outputs['recovery-target']).toMatch(
      /^restore point "production-pre-deploy-v1\.2\.0" at [0-9A-F]+\/[0-9A-F]+ on timeline 1, from backup /,
    );
    // The data and the schema are those at the point: the broken release's writes are gone.
    // Beside them only the rows the rollback's own smoke test of v1.1.0 registered after the recovery.
    const { atPoint, kept, added } = usersSince(usersAtPoint, await shop.users());
    expect(added.map((row) => row.email.replace(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/, 'UUID'))).toEqual([
      'smoke-UUID@example.com',
      'smoke-projects-UUID@example.com',
    ]);
    expect(kept).toEqual(atPoint);
    expect(await shop.schemaVersion()).toBe(versionAtPoint);
    expect(outputs['final-schema-version']).toBe(versionAtPoint);
    const app = await shop.world.appState();
    expect({ runningTag: app.runningTag, healthStatus: app.healthStatus, healthVersion: app.healthVersion }).toEqual({
      runningTag: 'v1.1.0',
      healthStatus: 200,
      healthVersion: 'v1.1.0',
    });
  });

  it("reports the rollback's restore point (name, LSN) and the backup step's duration, and keeps the discarded state recoverable", () => {
    const outputs = rollback.jobs.rollback.outputs;
    expect(outputs['restore-point']).toMatch(/^production-pre-rollback-\d{8}T\d{6}Z$/);
    expect(outputs['restore-point-lsn']).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(outputs['backup-artifact'] ?? '').toBe('');
    const backupMs = Number(outputs['backup-duration-ms']);
    expect(backupMs).toBeGreaterThan(0);
    expect(backupMs).toBeLessThan(rollbackEnded - rollbackStarted);
    // restore-db's own point on the old timeline, taken before it stopped the server.
    expect(outputs['safety-restore-point']).toMatch(/\S/);
    const summary = rollback.jobs.report.summary;
    const backupRow = summary.split('\n').find((line) => line.startsWith('| Backup (before the change) |'));
    expect(backupRow).toBe(
      `| Backup (before the change) | success | ${(backupMs / 1000).toFixed(1)} s | restore point \`${outputs['restore-point']}\` at LSN ${outputs['restore-point-lsn']} |`,
    );
    expect(summary).toContain(`recovered in place to ${outputs['recovery-target']}`);
    expect(summary).toContain(`the state before it: restore point \`${outputs['safety-restore-point']}\``);
  });
});

import { findCalled } from '../../scripts/demo/scenario.js';
import type { RunSettings } from '../../scripts/demo/world.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';
import { runProcess } from '../../shared/process.js';
import { startSshServer, type TestSshServer } from '../../testkit/sshd.js';
import {
  expectRecoveredInPlace,
  pgBackRestSettings,
  startPgBackRestShop,
  usersSince,
  type PgBackRestShop,
} from './pgbackrest-shop.js';

/**
 * rollback.yml with backup-method pgbackrest where pgBackRest runs on the database host, reached over
 * SSH (vars ROLLBACK_PGBACKREST_SSH_HOST, _PORT, _USER, _KNOWN_HOSTS and the PGBACKREST_SSH_KEY
 * secret), through the local runner, against a real sshd on 127.0.0.1 (testkit/sshd.ts). The
 * stanza's pgbackrest.conf is known only to the SSH sessions (PGBACKREST_CONFIG, set by sshd as a
 * database host's login environment would; no ROLLBACK_PGBACKREST_CONFIG): a step that ran
 * pgbackrest on the runner instead would find no stanza and fail. The deploy takes its pre-deploy
 * restore point over SSH; the rollback takes its own, then stops the server, recovers in place and
 * starts it again over SSH, the stop and start commands run on the host itself.
 */
describe('the rollback with backup-method pgbackrest over SSH', () => {
  let shop: PgBackRestShop;
  let sshd: TestSshServer;
  let settings: RunSettings;
  let rollback: WorkflowRun;
  let caller: WorkflowRun;
  let deployed: WorkflowRun;
  let usersAtPoint: string;
  let versionAtPoint: string;
  let localCheck: { exitCode: number; output: string };

  beforeAll(async () => {
    shop = await startPgBackRestShop('pgbackrest-ssh-rollback');
    const { cluster } = shop;
    sshd = await startSshServer({ env: { PGBACKREST_CONFIG: cluster.config } });
    settings = pgBackRestSettings(
      cluster,
      {
        ROLLBACK_PGBACKREST_SSH_HOST: sshd.host,
        ROLLBACK_PGBACKREST_SSH_PORT: String(sshd.port),
        ROLLBACK_PGBACKREST_SSH_USER: sshd.user,
        ROLLBACK_PGBACKREST_KNOWN_HOSTS: sshd.knownHosts,
      },
      { PGBACKREST_SSH_KEY: sshd.privateKey },
    );
    // The premise: pgbackrest on the runner, without the SSH session's environment, finds no such stanza.
    const local = await runProcess(
      'runuser',
      ['-u', 'postgres', '--', 'pgbackrest', `--stanza=${cluster.stanza}`, 'info'],
      { okExitCodes: Array.from({ length: 256 }, (_, code) => code) },
    );
    localCheck = { exitCode: local.exitCode, output: `${local.stdout}${local.stderr}` };

    await shop.deploy('v1.1.0', settings);
    await cluster.query(
      'shop',
      "INSERT INTO users (email, password_hash) SELECT 'u' || g || '@example.com', 'x' FROM generate_series(1, 50) g",
    );
    usersAtPoint = await shop.users();
    versionAtPoint = await shop.schemaVersion();
    deployed = await shop.deploy('v1.2.0', settings);
    // What the broken release did to the data.
    await cluster.query(
      'shop',
      "DELETE FROM users WHERE id % 3 = 0; INSERT INTO users (email, password_hash) VALUES ('broken@example.com', 'x')",
    );
    expect(await shop.users()).not.toBe(usersAtPoint);

    caller = await shop.world.run(
      'rollback.yml',
      {
        environment: 'production',
        'target-tag': 'v1.1.0',
        'db-policy': 'restore-backup',
        reason: 'pgbackrest over ssh',
      },
      settings,
    );
    rollback = findCalled(caller, 'rollback');
  }, 1_200_000);

  afterAll(async () => {
    await sshd?.stop();
    await shop?.stop();
  });

  it('pgbackrest on the runner itself does not know the stanza (only the SSH sessions do)', () => {
    expect(localCheck.output).not.toMatch(/status: ok/);
    expect(localCheck.output).toMatch(/stanza: shop\s+status: error \(missing stanza path\)|does not exist|missing/);
  });

  it("the deploy's restore point is taken over SSH", () => {
    expect(deployed.jobs.deploy.outputs['restore-point']).toBe('production-pre-deploy-v1.2.0');
    expect(deployed.jobs.deploy.summary).toContain(`@${sshd.host}:${sshd.port}`);
  });

  it('recovers in place to the pre-deploy point over SSH and brings the last good release back', async () => {
    expectRecoveredInPlace(shop, caller, rollback);
    const outputs = rollback.jobs.rollback.outputs;
    expect(outputs['restore-point']).toMatch(/^production-pre-rollback-\d{8}T\d{6}Z$/);
    expect(outputs['recovery-target']).toMatch(
      /^restore point "production-pre-deploy-v1\.2\.0" at [0-9A-F]+\/[0-9A-F]+ on timeline 1, from backup /,
    );
    expect(outputs['safety-restore-point']).toMatch(/\S/);
    // Where pgBackRest ran, as the restore point's and the recovery's summaries name it: the SSH host.
    const summary = rollback.jobs.rollback.summary;
    expect(summary.split(`@${sshd.host}:${sshd.port}`).length - 1).toBeGreaterThanOrEqual(2);
    // The data and the schema at the point; beside them only the rows the smoke test of v1.1.0 wrote.
    const { atPoint, kept, added } = usersSince(usersAtPoint, await shop.users());
    expect(kept).toEqual(atPoint);
    expect(added.map((row) => row.email.replace(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/, 'UUID'))).toEqual([
      'smoke-UUID@example.com',
      'smoke-projects-UUID@example.com',
    ]);
    expect(await shop.schemaVersion()).toBe(versionAtPoint);
    const app = await shop.world.appState();
    expect({ runningTag: app.runningTag, healthStatus: app.healthStatus, healthVersion: app.healthVersion }).toEqual({
      runningTag: 'v1.1.0',
      healthStatus: 200,
      healthVersion: 'v1.1.0',
    });
  });
});

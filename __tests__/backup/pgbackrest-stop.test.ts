import { runProcess } from '../../shared/process.js';
import { PgBackRestHost, type PgBackRestSettings } from '../../shared/backup/pgbackrest/host.js';
import { startPgBackRestCluster, type PgBackRestCluster } from '../../testkit/pgbackrest-cluster.js';
import { startSshServer, type TestSshServer } from '../../testkit/sshd.js';

/**
 * A pgbackrest command restore-db started and no longer wants (a side cluster's restore, when the
 * stanza's check beside it fails) is stopped where it runs: on the runner, or on the host reached
 * over SSH, through the pgbackrest-via prefix. Killing the local ssh client would leave it running
 * there. The long command here is a real `pgbackrest check` waiting for a WAL segment that broken
 * archiving never delivers (its archive-timeout is a minute).
 */
describe('stopping a running pgbackrest command', () => {
  let cluster: PgBackRestCluster;
  let sshd: TestSshServer;

  beforeAll(async () => {
    [cluster, sshd] = await Promise.all([startPgBackRestCluster({ stanza: 'stop' }), startSshServer()]);
    await cluster.breakArchiving();
  });
  afterAll(async () => {
    await cluster?.destroy();
    await sshd?.stop();
  });

  /** pgbackrest processes of this cluster's config still running (the sshd shares this machine). */
  async function runningChecks(): Promise<string[]> {
    const config = cluster.inputs()['pgbackrest-config'];
    const { stdout } = await runProcess('pgrep', ['-a', '-f', `^pgbackrest --stanza=stop --config=${config} check`], {
      okExitCodes: [0, 1],
    });
    return stdout.split('\n').filter(Boolean);
  }

  /** pgbackrest check's session on the server (pgBackRest names its sessions "pgBackRest [check]"). */
  async function checkConnected(): Promise<boolean> {
    const { rows } = await cluster.query<{ sessions: number }>(
      'postgres',
      "SELECT count(*)::int AS sessions FROM pg_stat_activity WHERE application_name = 'pgBackRest [check]'",
    );
    return rows[0].sessions > 0;
  }

  async function stopsWhileWaiting(settings: PgBackRestSettings): Promise<void> {
    const { host } = await PgBackRestHost.openWith(settings, async () => undefined);
    try {
      const started = Date.now();
      const waiting = host.startLogged('pgbackrest check that waits', 'check', ['--archive-timeout=60']);
      const failed = waiting.done.then(
        () => 'passed',
        (error: unknown) => (error as Error).message,
      );
      // Waiting there: connected to the server (so past its start, its signal handlers set), for the
      // WAL switch it asked for, which the broken archive_command never archives. A SIGTERM before
      // that kills it outright instead of letting it end as pgBackRest does.
      for (let tries = 0; !(await checkConnected()); tries++) {
        if (tries > 200) throw new Error('pgbackrest check never connected to the server');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await runningChecks()).toHaveLength(1);
      await waiting.stop();
      expect(Date.now() - started).toBeLessThan(20_000);
      // pgBackRest ends on SIGTERM with its own exit code 63 and says so; the error names pgbackrest
      // as run through the prefix, not the sh that announced its pid.
      expect(await failed).toMatch(
        /^runuser -u postgres -- pgbackrest --stanza=stop .* check --log-level-console=info/,
      );
      expect(await failed).not.toContain('rollback-actions: pgbackrest runs as pid');
      expect(await failed).toMatch(/exited with code 63:[\s\S]*check command end: terminated on signal \[SIGTERM\]/);
      expect(await runningChecks()).toEqual([]);
    } finally {
      await host.close();
    }
  }

  /** This cluster's stanza, reached through runuser as the actions reach it (pgbackrest-via). */
  function settings(): PgBackRestSettings {
    return {
      stanza: 'stop',
      config: cluster.inputs()['pgbackrest-config'],
      via: cluster.via,
      archiveTimeoutSeconds: 60,
    };
  }

  it('on the runner, through runuser', async () => {
    await stopsWhileWaiting(settings());
  });

  it('on a host reached over SSH, through runuser there', async () => {
    await stopsWhileWaiting({
      ...settings(),
      ssh: {
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: sshd.privateKey,
        knownHosts: sshd.knownHosts,
      },
    });
  });
});

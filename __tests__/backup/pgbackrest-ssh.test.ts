import { existsSync } from 'node:fs';
import { runAction } from '../../testkit/action-harness.js';
import { startPgBackRestCluster, type PgBackRestCluster } from '../../testkit/pgbackrest-cluster.js';
import { startSshServer, type TestSshServer } from '../../testkit/sshd.js';

/**
 * Method "pgbackrest" where pgBackRest runs on the database host, reached over SSH (a real sshd),
 * with a command prefix on top (runuser as the postgres user): the same argument arrays, quoted for
 * the remote shell by the SSH executor.
 */
describe('method pgbackrest over SSH', () => {
  let cluster: PgBackRestCluster;
  let sshd: TestSshServer;

  beforeAll(async () => {
    [cluster, sshd] = await Promise.all([startPgBackRestCluster({ stanza: 'remote' }), startSshServer()]);
    await cluster.query(
      'postgres',
      "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 300) g",
    );
  });
  afterAll(async () => {
    await cluster?.destroy();
    await sshd?.stop();
  });

  function sshInputs(): Record<string, string> {
    return {
      'ssh-host': sshd.host,
      'ssh-port': String(sshd.port),
      'ssh-user': sshd.user,
      'ssh-key': sshd.privateKey,
      'known-hosts': sshd.knownHosts,
    };
  }

  it('creates a restore point after a full backup, and recovers to it into a side cluster on that host', async () => {
    const backup = await runAction('backup-db', {
      inputs: { ...cluster.inputs(), ...sshInputs(), 'backup-type': 'full', 'restore-point': 'before-ssh-release' },
    });
    expect(backup.errors).toEqual([]);
    expect(backup.log).toContain(
      `pgBackRest 2.45 on runuser -u postgres -- on ${sshd.user}@${sshd.host}:${sshd.port}, stanza "remote".`,
    );
    await cluster.query('postgres', 'DELETE FROM items WHERE id > 100');

    // With ssh-host the side port cannot be chosen on the runner.
    const noPort = await runAction('restore-db', {
      inputs: { ...cluster.inputs(), ...sshInputs(), 'restore-point': 'before-ssh-release' },
    });
    expect(noPort.errors[0]).toBe(
      'Input "side-port" is required when pgBackRest runs on another host (ssh-host): a port free there for the side cluster.',
    );

    const { freePort } = await import('../../testkit/services/free-port.js');
    const restored = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs(),
        ...sshInputs(),
        'restore-point': 'before-ssh-release',
        'restore-point-lsn': backup.outputs['restore-point-lsn'],
        'side-port': await freePort(),
        'side-cluster': 'remove',
      },
    });
    expect(restored.errors).toEqual([]);
    expect(JSON.parse(restored.outputs['row-counts'])).toEqual({ 'public.items': 300 });
    expect(restored.outputs['side-data-dir']).toBe('');
    expect(restored.log).toMatch(/Side cluster \S+\.restore-\S+ recovered on port \d+ \(timeline 2\)/);
    const sideDir = /Side cluster (\S+) recovered/.exec(restored.log)![1];
    expect(existsSync(sideDir)).toBe(false);
    expect((await cluster.query<{ count: string }>('postgres', 'SELECT count(*) FROM items')).rows[0].count).toBe(
      '100',
    );
  });

  it('refuses a host key that is not the one given, before running anything', async () => {
    const result = await runAction('backup-db', {
      inputs: { ...cluster.inputs(), ...sshInputs(), 'known-hosts': sshd.wrongKnownHosts },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(/^ssh to .* failed: .*Host key verification failed/);
  });
});

import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { runAction } from '../../testkit/action-harness.js';
import { startPgBackRestCluster, type PgBackRestCluster } from '../../testkit/pgbackrest-cluster.js';

/**
 * backup-db method "pgbackrest" on a real cluster that archives its WAL into a pgBackRest stanza:
 * the restore point is created only after pgbackrest check, and only once its segment is in the
 * repository; broken archiving, a stanza of another cluster and a stanza without backups are refused
 * before any restore point exists.
 */
describe('backup-db method pgbackrest', () => {
  let cluster: PgBackRestCluster;

  beforeAll(async () => {
    cluster = await startPgBackRestCluster();
    await cluster.query(
      'postgres',
      'CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) SELECT md5(g::text) FROM generate_series(1, 500) g',
    );
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  /** Restore points written to WAL since `fromLsn`, read straight from pg_wal with pg_waldump. */
  async function restorePointsSince(fromLsn: string): Promise<string[]> {
    const { stdout } = await runProcess(
      path.join(cluster.binDir, 'pg_waldump'),
      ['--path', path.join(cluster.dataDir, 'pg_wal'), '--start', fromLsn, '--rmgr', 'XLOG'],
      { okExitCodes: [0, 1] },
    );
    return [...stdout.matchAll(/desc: RESTORE_POINT (.*)$/gm)].map((match) => match[1]);
  }

  async function currentLsn(): Promise<string> {
    return (await cluster.query<{ lsn: string }>('postgres', 'SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
  }

  it('refuses a stanza without any backup before creating a restore point', async () => {
    const from = await currentLsn();
    const result = await runAction('backup-db', { inputs: { ...cluster.inputs(), label: 'production' } });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      /^Stanza "app" has no backup yet, and a restore point can only be recovered to from a backup taken before it\. No restore point was created\./,
    );
    expect(await restorePointsSince(from)).toEqual([]);
  });

  it('takes a full backup, then a restore point whose WAL is in the repository', async () => {
    const result = await runAction('backup-db', {
      inputs: { ...cluster.inputs(), label: 'production', 'backup-type': 'full', 'app-version': 'v1.2.0' },
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    const { outputs } = result;
    expect(outputs['restore-point']).toMatch(/^production-\d{8}T\d{6}Z$/);
    expect(outputs['restore-point-lsn']).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(new Date(outputs['restore-point-time']).getTime()).toBeGreaterThan(Date.now() - 120_000);

    const info = JSON.parse((await cluster.pgbackrest(['info', '--output=json'])).stdout) as {
      backup: { label: string; type: string }[];
      archive: { max: string }[];
    }[];
    expect(info[0].backup.map((backup) => [backup.label, backup.type])).toEqual([[outputs['backup-label'], 'full']]);
    expect(outputs['archive-newest-wal']).toBe(info[0].archive[0].max);
    // The record is in an archived segment: pg_walfile_name of its LSN is at most the newest archived.
    const { rows } = await cluster.query<{ segment: string }>(
      'postgres',
      'SELECT pg_walfile_name($1::pg_lsn) AS segment',
      [outputs['restore-point-lsn']],
    );
    expect(rows[0].segment <= outputs['archive-newest-wal']).toBe(true);

    const metadata = JSON.parse(outputs.metadata);
    expect(metadata).toMatchObject({
      method: 'pgbackrest',
      stanza: 'app',
      label: 'production',
      appVersion: 'v1.2.0',
      restorePoint: { name: outputs['restore-point'], lsn: outputs['restore-point-lsn'] },
    });
    expect(result.summary).toContain(`restore-point: ${outputs['restore-point']}`);
    expect(result.summary).toContain('method: pgbackrest');
    expect(result.events.map((event) => event.event)).toEqual(['backup_start', 'backup_complete']);
  });

  it('creates only a restore point (backup-type none) on top of the newest backup, with the name given', async () => {
    const result = await runAction('backup-db', {
      inputs: { ...cluster.inputs(), 'restore-point': 'before-release-42' },
    });
    expect(result.errors).toEqual([]);
    expect(result.outputs['restore-point']).toBe('before-release-42');
    const info = JSON.parse((await cluster.pgbackrest(['info', '--output=json'])).stdout) as {
      backup: { label: string }[];
    }[];
    expect(info[0].backup).toHaveLength(1);
    expect(result.outputs['backup-label']).toBe(info[0].backup[0].label);
  });

  it('refuses when WAL archiving is broken: the point exists but is not archived, nothing else changed', async () => {
    await cluster.breakArchiving();
    try {
      const from = await currentLsn();
      const result = await runAction('backup-db', {
        inputs: { ...cluster.inputs(), 'restore-point': 'not-archived', 'archive-timeout': '5s' },
      });
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toMatch(
        /^WAL archiving of stanza "app" does not work: restore point "not-archived" was created at [0-9A-F]+\/[0-9A-F]+, but its WAL segment ([0-9A-F]{24}) is not archived, so it cannot be recovered to\. WAL segment \1 was not archived within 5s/,
      );
      expect(result.errors[0]).toMatch(/Nothing else was changed\.$/);
      expect(result.outputs['restore-point']).toBeUndefined();
      // The point was written (and is not recoverable); no check marker, no backup.
      expect(await restorePointsSince(from)).toEqual(['not-archived']);
    } finally {
      await cluster.repairArchiving();
    }
  });

  it('says pgBackRest does not run where pgbackrest-via leads, not why its info failed, with no restore point', async () => {
    const from = await currentLsn();
    // `pgbackrest info` runs beside `pgbackrest version` and fails as well: the version's error is reported.
    const result = await runAction('backup-db', {
      inputs: { ...cluster.inputs(), 'pgbackrest-via': 'env PATH=/nonexistent' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(/^pgBackRest does not run on env PATH=\/nonexistent on this runner: /);
    expect(await restorePointsSince(from)).toEqual([]);
  });

  it('refuses a stanza that backs up another cluster', async () => {
    const other = await startPgBackRestCluster({ stanza: 'other' });
    try {
      // This cluster's server, the other cluster's stanza and repository.
      const result = await runAction('backup-db', {
        inputs: { ...cluster.inputs(), 'pgbackrest-stanza': 'other', 'pgbackrest-config': other.config },
      });
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toMatch(
        /^Stanza "other" belongs to the cluster with system identifier \d+, but this server's is \d+: its backups and WAL are another cluster's\./,
      );
    } finally {
      await other.destroy();
    }
  });

  it('names the input when inputs of the dump method are given with method pgbackrest, and the reverse', async () => {
    const dumpOnly = await runAction('backup-db', { inputs: { ...cluster.inputs(), tables: 'notes' } });
    expect(dumpOnly.errors).toEqual([
      'Input "tables" does not apply to method "pgbackrest"; remove it, or set method to "dump".',
    ]);
    const pgbackrestOnly = await runAction('backup-db', {
      inputs: { 'database-url': cluster.url(), 'pgbackrest-stanza': 'app', upload: false },
    });
    expect(pgbackrestOnly.errors).toEqual([
      'Input "pgbackrest-stanza" does not apply to method "dump"; remove it, or set method to "pgbackrest".',
    ]);
    const noStanza = await runAction('backup-db', { inputs: { ...cluster.inputs(), 'pgbackrest-stanza': '' } });
    expect(noStanza.errors).toEqual([
      'Input "pgbackrest-stanza" is required with method "pgbackrest": the stanza (as in pgbackrest.conf) of the cluster.',
    ]);
  });
});

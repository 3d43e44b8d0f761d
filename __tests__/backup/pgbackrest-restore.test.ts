import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { runAction, type ActionResult } from '../../testkit/action-harness.js';
import { startPgBackRestCluster, type PgBackRestCluster } from '../../testkit/pgbackrest-cluster.js';

/**
 * restore-db method "pgbackrest" on a real cluster archiving into a pgBackRest stanza: a restore
 * point taken before a destructive change, recovered to into a side cluster and in place, with the
 * data exactly as it was at the point; and every refusal (a restore point that is not there, a
 * backup label that does not exist, broken archiving, a running server without stop-command) leaves
 * everything as it was.
 */
const APP_SCHEMA = `
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), total numeric(10, 2) NOT NULL);
CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
INSERT INTO schema_migrations VALUES (3, false);
INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 200) g;
INSERT INTO orders (customer_id, total) SELECT 1 + g % 200, g * 1.25 FROM generate_series(1, 2000) g;
ANALYZE;
`;

describe('restore-db method pgbackrest', () => {
  let cluster: PgBackRestCluster;
  let point: ActionResult;
  /** pg_dump of the app database at the restore point. */
  let atPoint: string;
  /** ...and after the destructive change (the live state the refusals must leave alone). */
  let afterDamage: string;
  let pointTime: Date;
  let customersAtPoint: string;

  async function rowsOf(port: number, table: string): Promise<string> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      connectionString: `postgres://postgres:${encodeURIComponent(cluster.password)}@127.0.0.1:${port}/app`,
    });
    await client.connect();
    try {
      return (
        await client.query<{ rows: string }>(
          `SELECT string_agg(t::text, E'\\n' ORDER BY t::text) AS rows FROM ${table} t`,
        )
      ).rows[0].rows;
    } finally {
      await client.end();
    }
  }

  /**
   * The app database as pg_dump writes it: schema and every row. Sequence positions are left out:
   * PostgreSQL WAL-logs sequences 32 values ahead, so a recovered sequence resumes up to 32 later
   * (it never hands out a value twice), which is not a difference in the data.
   */
  async function dumpOf(port: number): Promise<string> {
    const { stdout } = await runProcess(
      path.join(cluster.binDir, 'pg_dump'),
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '--no-password', 'app'],
      { env: { PGPASSWORD: cluster.password } },
    );
    return stdout.replace(/^\\(un)?restrict .*$/gm, '').replace(/^SELECT pg_catalog\.setval\(.*$/gm, '');
  }

  function sideDirectories(): string[] {
    return readdirSync(cluster.root).filter((name) => name.startsWith('data.restore-'));
  }

  async function restorePointsSince(fromLsn: string): Promise<string[]> {
    const { stdout } = await runProcess(
      path.join(cluster.binDir, 'pg_waldump'),
      ['--path', path.join(cluster.dataDir, 'pg_wal'), '--start', fromLsn, '--rmgr', 'XLOG'],
      { okExitCodes: [0, 1] },
    );
    return [...stdout.matchAll(/desc: RESTORE_POINT (.*)$/gm)].map((match) => match[1]);
  }

  async function currentLsn(): Promise<string> {
    return (await cluster.query<{ lsn: string }>('app', 'SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
  }

  /** Nothing changed: the server runs, the data is the damaged state, no side cluster was left. */
  async function expectUntouched(): Promise<void> {
    expect(await cluster.running()).toBe(true);
    expect(await dumpOf(cluster.port)).toBe(afterDamage);
    expect(sideDirectories()).toEqual([]);
  }

  beforeAll(async () => {
    cluster = await startPgBackRestCluster();
    await cluster.query('postgres', 'CREATE DATABASE app');
    await cluster.query('app', APP_SCHEMA);
    await cluster.pgbackrest(['backup', '--type=full']);
    // Work after the backup, which only the WAL holds: the point is not simply the backup.
    await cluster.query(
      'app',
      "INSERT INTO customers (email) VALUES ('late@example.com'); UPDATE orders SET total = total + 1 WHERE id <= 100; UPDATE schema_migrations SET version = 4",
    );
    point = await runAction('backup-db', { inputs: { ...cluster.inputs('app'), label: 'production' } });
    expect(point.errors).toEqual([]);
    atPoint = await dumpOf(cluster.port);
    customersAtPoint = await rowsOf(cluster.port, 'customers');
    pointTime = new Date();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The destructive release.
    await cluster.query(
      'app',
      "DELETE FROM orders WHERE total > 100; DROP TABLE customers CASCADE; UPDATE schema_migrations SET version = 5; CREATE TABLE audit (note text); INSERT INTO audit VALUES ('after the point')",
    );
    afterDamage = await dumpOf(cluster.port);
    expect(afterDamage).not.toBe(atPoint);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('recovers to the restore point into a side cluster, leaving the live server alone, and removes it on request', async () => {
    const result = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        'restore-point': point.outputs['restore-point'],
        'restore-point-lsn': point.outputs['restore-point-lsn'],
      },
    });
    expect(result.errors).toEqual([]);
    const { outputs } = result;
    expect(outputs['recovery-target']).toMatch(
      new RegExp(
        `^restore point "${point.outputs['restore-point']}" at [0-9A-F]+/[0-9A-F]+ on timeline 1, from backup ${point.outputs['backup-label']} `,
      ),
    );
    expect(outputs['backup-label']).toBe(point.outputs['backup-label']);
    expect(outputs['side-data-dir']).toMatch(new RegExp(`^${cluster.dataDir}\\.restore-\\d{8}t\\d{6}z$`));
    expect(Number(outputs.timeline)).toBe(2);
    expect(Number(outputs['restore-duration-ms'])).toBeGreaterThan(0);
    expect(new Date(outputs['newest-restorable-at']).getTime()).toBeGreaterThan(pointTime.getTime() - 60_000);
    expect(JSON.parse(outputs['row-counts'])).toEqual({
      'public.customers': 201,
      'public.orders': 2000,
      'public.schema_migrations': 1,
    });
    expect(outputs['schema-version']).toBe('4');

    // The side cluster holds the database exactly as it was at the point; the live one is untouched.
    expect(await dumpOf(Number(outputs['side-port']))).toBe(atPoint);
    expect(await dumpOf(cluster.port)).toBe(afterDamage);
    // It never archives into the live stanza: its archive_mode is off.
    const side = `postgres://postgres:${encodeURIComponent(cluster.password)}@127.0.0.1:${outputs['side-port']}/app`;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: side });
    await client.connect();
    expect((await client.query('SHOW archive_mode')).rows[0].archive_mode).toBe('off');
    await client.end();

    const removed = await runAction('restore-db', {
      inputs: { ...cluster.inputs('app'), 'remove-side-cluster': outputs['side-data-dir'] },
    });
    expect(removed.errors).toEqual([]);
    expect(existsSync(outputs['side-data-dir'])).toBe(false);
    const refused = await runAction('restore-db', {
      inputs: { ...cluster.inputs('app'), 'remove-side-cluster': cluster.dataDir },
    });
    expect(refused.errors[0]).toBe(
      `${cluster.dataDir} on runuser -u postgres -- on this runner has no rollback-actions-side-cluster.json: it is not a side cluster restore-db made, and is left alone.`,
    );
    await expectUntouched();
  });

  it('recovers to a time into a side cluster it then removes, counting exactly only the tables up to row-count-max-size', async () => {
    const result = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        'target-time': pointTime.toISOString(),
        'side-cluster': 'remove',
        'row-count-max-size': '64kB',
      },
    });
    expect(result.errors).toEqual([]);
    expect(result.outputs['recovery-target']).toMatch(
      new RegExp(
        `^time ${pointTime.toISOString().replace(/\./g, '\\.')}, from backup ${point.outputs['backup-label']}`,
      ),
    );
    // orders (over 64 kB of data) is not scanned: its estimate, from the catalog as of the point, is given apart.
    expect(JSON.parse(result.outputs['row-counts'])).toEqual({
      'public.customers': 201,
      'public.schema_migrations': 1,
    });
    expect(JSON.parse(result.outputs['estimated-row-counts'])).toEqual({ 'public.orders': 2000 });
    expect(result.summary).toMatch(/\| public\.orders \| ~2000 \(estimate: above row-count-max-size\) \|/);
    expect(result.outputs['side-data-dir']).toBe('');
    await expectUntouched();
  });

  it('refuses a restore point that is not in the archive, in either mode, with nothing changed', async () => {
    const from = await currentLsn();
    const side = await runAction('restore-db', {
      inputs: { ...cluster.inputs('app'), 'restore-point': 'no-such-point' },
    });
    expect(side.exitCode).toBe(1);
    expect(side.errors[0]).toMatch(
      /^Input "restore-point" is "no-such-point", and no restore point of that name is in the archived WAL of stanza "app" since its oldest backup\. Nothing was restored\.\nHint: /,
    );
    const inPlace = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        mode: 'replace',
        'restore-point': 'no-such-point',
        'stop-command': cluster.stopCommand,
        'start-command': cluster.startCommand,
      },
    });
    expect(inPlace.errors[0]).toBe(side.errors[0]);
    // With an LSN the side restore starts before the archive is read: stopped and removed once the
    // point is not found there.
    const early = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        'restore-point': 'no-such-point',
        'restore-point-lsn': point.outputs['restore-point-lsn'],
      },
    });
    expect(early.exitCode).toBe(1);
    expect(early.errors[0]).toMatch(
      /^Input "restore-point" is "no-such-point", and no restore point of that name is in the archived WAL of stanza "app" around LSN [0-9A-F]+\/[0-9A-F]+\. Nothing was restored\.\nHint: /,
    );
    expect(early.log).toMatch(/pgbackrest restore into \S+\.restore-\S+ \(restore point "no-such-point" at about /);
    expect(early.log).not.toContain('Starting the restored cluster');
    expect(sideDirectories()).toEqual([]);
    expect(inPlace.outputs['safety-restore-point']).toBeUndefined();
    // No safety point either: refusals come before anything is written.
    expect((await restorePointsSince(from)).filter((name) => name !== 'pgBackRest Archive Check')).toEqual([]);
    await expectUntouched();
  });

  it('refuses a backup label that does not exist', async () => {
    const result = await runAction('restore-db', {
      inputs: { ...cluster.inputs('app'), 'backup-set': '20200101-000000F' },
    });
    expect(result.errors[0]).toMatch(
      /^Input "backup-set" is "20200101-000000F", which is not a backup of stanza "app" \(it has: \d{8}-\d{6}F\)\. Nothing was restored\.$/,
    );
    await expectUntouched();
  });

  it('refuses to restore in place over a running server without stop-command', async () => {
    const from = await currentLsn();
    const result = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        mode: 'replace',
        'restore-point': point.outputs['restore-point'],
        'start-command': cluster.startCommand,
      },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toBe(
      `The server on ${cluster.dataDir} is running, and mode "replace" restores only over a stopped server. Nothing was restored.\nHint: Give stop-command (e.g. systemctl stop postgresql@16-main) so that restore-db stops it after its checks, or stop it yourself first.`,
    );
    expect((await restorePointsSince(from)).filter((name) => name !== 'pgBackRest Archive Check')).toEqual([]);
    await expectUntouched();
  });

  /** restore-db with archiving broken: refused because the stanza fails its check, with nothing restored. */
  async function refusedForBrokenArchiving(inputs: Record<string, string>): Promise<ActionResult> {
    await cluster.breakArchiving();
    try {
      const result = await runAction('restore-db', {
        inputs: {
          ...cluster.inputs('app'),
          'archive-timeout': '5s',
          'restore-point': point.outputs['restore-point'],
          ...inputs,
        },
      });
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toMatch(
        /^Stanza "app" fails its check, so what it holds cannot be trusted: pgbackrest check .* failed: \[082\]: WAL segment [0-9A-F]{24} was not archived before the 5000ms timeout/,
      );
      expect(result.errors[0]).toMatch(/Nothing was restored\.$/);
      return result;
    } finally {
      await cluster.repairArchiving();
    }
  }

  it('refuses when the stanza fails its check (archiving broken), with nothing changed', async () => {
    await refusedForBrokenArchiving({
      mode: 'replace',
      'stop-command': cluster.stopCommand,
      'start-command': cluster.startCommand,
    });
    await expectUntouched();
  });

  it('refuses into a side cluster when the stanza fails its check: the files restored beside the check are removed, and the cluster never started', async () => {
    const result = await refusedForBrokenArchiving({
      'restore-point-lsn': point.outputs['restore-point-lsn'],
      'side-cluster': 'keep',
    });
    // The restore ran while the check waited; nothing of it is left, and no cluster was started.
    expect(result.log).toMatch(/pgbackrest restore into \S+\.restore-\S+ \(restore point/);
    expect(result.log).not.toContain('Starting the restored cluster');
    expect(result.outputs['side-data-dir']).toBeUndefined();
    expect(sideDirectories()).toEqual([]);
    await expectUntouched();
  });

  it('copies a table the release dropped back from a side cluster recovered to the point, and a comparison copy of a damaged one', async () => {
    const pointInputs = {
      ...cluster.inputs('app'),
      'restore-point': point.outputs['restore-point'],
      'restore-point-lsn': point.outputs['restore-point-lsn'],
      'side-cluster': 'remove',
    };
    const dropped = await runAction('restore-db', {
      inputs: { ...pointInputs, tables: 'customers', 'tables-content': 'definition-and-data' },
    });
    expect(dropped.errors).toEqual([]);
    expect(JSON.parse(dropped.outputs['restored-tables'])).toEqual([
      { from: 'public.customers', into: 'public.customers', rows: 201 },
    ]);
    expect(await rowsOf(cluster.port, 'customers')).toBe(customersAtPoint);

    const compared = await runAction('restore-db', {
      inputs: { ...pointInputs, tables: 'orders', 'tables-schema': 'at_point' },
    });
    expect(compared.errors).toEqual([]);
    expect(JSON.parse(compared.outputs['restored-tables'])).toEqual([
      { from: 'public.orders', into: 'at_point.orders', rows: 2000 },
    ]);
    const { rows } = await cluster.query<{ live: string }>('app', 'SELECT count(*) AS live FROM public.orders');
    expect(Number(rows[0].live)).toBeLessThan(2000);
    expect(sideDirectories()).toEqual([]);
    // The live state the remaining tests start from.
    afterDamage = await dumpOf(cluster.port);
  });

  it('recovers in place to the restore point after a safety restore point, and back again to that one', async () => {
    const result = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        mode: 'replace',
        'restore-point': point.outputs['restore-point'],
        'stop-command': cluster.stopCommand,
        'start-command': cluster.startCommand,
      },
    });
    expect(result.errors).toEqual([]);
    expect(await cluster.running()).toBe(true);
    expect(await dumpOf(cluster.port)).toBe(atPoint);
    const safety = result.outputs['safety-restore-point'];
    expect(safety).toMatch(/^before-restore-\d{8}T\d{6}Z$/);
    expect(result.summary).toContain(`\`${safety}\``);

    // The way back: the state the restore replaced is the safety point, on the old timeline.
    const back = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        mode: 'replace',
        'restore-point': safety,
        'stop-command': cluster.stopCommand,
        'start-command': cluster.startCommand,
        'safety-backup': false,
      },
    });
    expect(back.errors).toEqual([]);
    expect(back.outputs['recovery-target']).toMatch(
      new RegExp(`^restore point "${safety}" at [0-9A-F/]+ on timeline 1, `),
    );
    expect(await dumpOf(cluster.port)).toBe(afterDamage);
  });

  it('a restore point on a timeline no backup is on: the restore started from the LSN is restarted from the plan the archive gives', async () => {
    // The in-place restores above left the cluster on a later timeline than its only backup's.
    await cluster.query('app', "INSERT INTO customers (email) VALUES ('after-timeline-switch@example.com')");
    const later = await runAction('backup-db', { inputs: { ...cluster.inputs('app'), label: 'later' } });
    expect(later.errors).toEqual([]);
    const expected = await rowsOf(cluster.port, 'customers');
    await cluster.query('app', "DELETE FROM customers WHERE email = 'after-timeline-switch@example.com'");
    const result = await runAction('restore-db', {
      inputs: {
        ...cluster.inputs('app'),
        'restore-point': later.outputs['restore-point'],
        'restore-point-lsn': later.outputs['restore-point-lsn'],
        'side-cluster': 'keep',
      },
    });
    expect(result.errors).toEqual([]);
    expect(result.log).toMatch(
      /The plan read from the archive is not the one the restore started from: restore point "later-\S+" at [0-9A-F/]+ on timeline ([2-9]), .* The restore from \S+ was stopped and removed; restoring again\./,
    );
    expect(result.outputs['recovery-target']).toMatch(/ on timeline [2-9], /);
    const sidePort = Number(result.outputs['side-port']);
    try {
      expect(await rowsOf(sidePort, 'customers')).toBe(expected);
    } finally {
      await runAction('restore-db', {
        inputs: { ...cluster.inputs('app'), 'remove-side-cluster': result.outputs['side-data-dir'] },
      });
    }
    expect(sideDirectories()).toEqual([]);
  });
});

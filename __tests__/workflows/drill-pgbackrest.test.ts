import { mkdtempSync, openSync, readSync, readdirSync, closeSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readZipEntry, readZipIndex } from '../../shared/backup/zip-index.js';
import { runProcess } from '../../shared/process.js';
import { createDemoWorld, type DemoWorld } from '../../scripts/demo/world.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';
import { startPgBackRestCluster, type PgBackRestCluster } from '../../testkit/pgbackrest-cluster.js';

/**
 * rollback-drill.yml with backup-method pgbackrest, through the local runner: the demo app's
 * database lives in a cluster archiving into a pgBackRest stanza (Debian's pgbackrest, a posix
 * repository); the drill recovers one of its recent backups (backup-set random) and the WAL since
 * into a side cluster,
 * reverts and re-applies the migrations there, removes it, and its matrix (job summary, output and
 * kept artifact) holds the restore's RTO and RPO, judged against the targets the caller set.
 */
interface MatrixRow {
  scenario: string;
  result: string;
  'duration-s': number | null;
  details: string;
  'rto-s'?: number;
  'rpo-s'?: number;
}

function jobResults(run: WorkflowRun): Record<string, string> {
  return Object.fromEntries(Object.entries(run.jobs).map(([id, job]) => [id, job.result]));
}

async function artifactFile(world: DemoWorld, name: string, file: string): Promise<string> {
  const artifact = world.artifacts.find(name);
  if (!artifact) throw new Error(`no artifact ${name}`);
  const zip = world.artifacts.storedFile(artifact.id);
  const size = statSync(zip).size;
  const fd = openSync(zip, 'r');
  try {
    const read = async (start: number, end: number) => {
      const buffer = Buffer.alloc(end - start);
      readSync(fd, buffer, 0, buffer.length, start);
      return buffer;
    };
    const entry = (await readZipIndex(read, size)).find((candidate) => candidate.name === file);
    if (!entry) throw new Error(`${file} is not in ${name}`);
    return (await readZipEntry(read, entry, size)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

describe('the rollback drill with backup-method pgbackrest', () => {
  let world: DemoWorld;
  let cluster: PgBackRestCluster;
  let drill: WorkflowRun;
  const lines: string[] = [];
  const labels: string[] = [];
  let archivedFrom: number;
  let drillStarted: number;
  let drillEnded: number;

  beforeAll(async () => {
    world = await createDemoWorld({
      root: mkdtempSync(path.join(os.tmpdir(), 'drill-pgbackrest-')),
      log: (line) => lines.push(line),
      drill: true,
    });
    cluster = await startPgBackRestCluster({ stanza: 'shop' });
    await cluster.query('postgres', 'CREATE DATABASE shop');
    // The database as v1.2.0 left it: its own migrate-up script, then data.
    const release = path.join(world.appRepo, '..', 'shop-v1.2.0');
    await runProcess('git', ['clone', '-q', '--branch', 'v1.2.0', world.appRepo, release]);
    await runProcess('bash', ['scripts/migrate-up.sh'], { cwd: release, env: { DATABASE_URL: cluster.url('shop') } });
    await cluster.query(
      'shop',
      "INSERT INTO users (email, password_hash) SELECT 'u' || g || '@example.com', 'x' FROM generate_series(1, 300) g",
    );
    for (let backup = 0; backup < 2; backup++) {
      await cluster.query(
        'shop',
        "INSERT INTO projects (owner_id, name) SELECT id, 'p' || id FROM users WHERE id % 3 = 0",
      );
      await cluster.pgbackrest(['backup', '--type=full']);
    }
    const { stdout } = await cluster.pgbackrest(['info', '--output=json']);
    labels.push(...(JSON.parse(stdout) as { backup: { label: string }[] }[])[0].backup.map((backup) => backup.label));
    // Work after the last backup, archived: the newest restorable state is this WAL, not the backup.
    await cluster.query('shop', "INSERT INTO users (email, password_hash) VALUES ('late@example.com', 'x')");
    archivedFrom = Date.now();
    await cluster.pgbackrest(['check']);
    world.github.deployments.seed('acme', 'shop', 'production', 'v1.1.0', 'success');
    world.github.deployments.seed('acme', 'shop', 'production', 'v1.2.0', 'success');
    drillStarted = Date.now();
    drill = await world.run(
      'rollback-drill.yml',
      {
        environment: 'production',
        'backup-method': 'pgbackrest',
        'backup-set': 'random',
        'rto-target': '10m',
        'rpo-target': '1h',
      },
      {
        suite: true,
        vars: {
          ROLLBACK_PGBACKREST_STANZA: cluster.stanza,
          ROLLBACK_PGBACKREST_CONFIG: cluster.config,
          ROLLBACK_PGBACKREST_VIA: cluster.via.join(' '),
        },
        secrets: { DATABASE_URL: cluster.url('shop') },
      },
    );
    drillEnded = Date.now();
  }, 900_000);

  afterAll(async () => {
    await cluster?.destroy();
    await world?.stop();
    if (process.env.SCENARIO_LOG) (await import('node:fs')).writeFileSync(process.env.SCENARIO_LOG, lines.join('\n'));
  });

  it('recovers a random recent backup into a side cluster, runs the checks there and passes', () => {
    if (drill.conclusion !== 'success')
      throw new Error(`the drill ended ${drill.conclusion}:\n${lines.slice(-80).join('\n')}`);
    expect(jobResults(drill)).toEqual({ database: 'success', image: 'success', staging: 'skipped', report: 'success' });
    const database = drill.jobs.database;
    const steps = Object.fromEntries(database.steps.map((step) => [step.id, step.outcome]));
    expect(steps).toMatchObject({
      restore: 'skipped',
      pitr: 'success',
      down: 'success',
      up: 'success',
      after: 'success',
    });
    expect(labels).toHaveLength(2);
    expect(labels).toContain(database.outputs['backup-label']);
    // Point-in-time recovery to the moment the restore started: the backup and all the WAL since.
    expect(database.outputs['recovery-target']).toMatch(
      new RegExp(
        `^time ${database.outputs['restore-started-at'].replace(/\./g, '\\.')}, from backup ${database.outputs['backup-label']}`,
      ),
    );
    expect(drill.outputs.passed).toBe('true');
  });

  it('keeps RTO and RPO in the matrix (output and artifact) and judges them against the targets in the summary', async () => {
    const database = drill.jobs.database.outputs;
    const rtoMs = Number(database['restore-duration-ms']);
    const newest = Date.parse(database['newest-restorable-at']);
    const restoreStarted = Date.parse(database['restore-started-at']);
    // The newest archived WAL is the one `pgbackrest check` pushed, after the last write.
    expect(newest).toBeGreaterThanOrEqual(archivedFrom - 1000);
    expect(newest).toBeLessThanOrEqual(restoreStarted);
    expect(restoreStarted).toBeGreaterThan(drillStarted);
    expect(rtoMs).toBeGreaterThan(0);
    expect(rtoMs).toBeLessThan(drillEnded - restoreStarted);

    const matrix = JSON.parse(drill.outputs.matrix) as MatrixRow[];
    const restore = matrix[0];
    expect(restore).toMatchObject({
      scenario: 'Restore the pgBackRest backup into a side cluster (PITR)',
      result: 'passed',
    });
    expect(restore['rto-s']).toBe(Math.round(rtoMs / 100) / 10);
    expect(restore['rpo-s']).toBe(Math.round((restoreStarted - newest) / 100) / 10);
    expect(restore['rpo-s']).toBeGreaterThanOrEqual(0);
    expect(restore.details).toBe(`recovered to ${database['recovery-target']}`);
    expect(matrix.find((candidate) => candidate.scenario === 'Recovery time (RTO) within 10m00s')).toMatchObject({
      result: 'passed',
      'duration-s': restore['rto-s'],
    });
    expect(matrix.find((candidate) => candidate.scenario === 'Recovery point (RPO) within 1h00m')).toMatchObject({
      result: 'passed',
      'duration-s': restore['rpo-s'],
    });
    expect(matrix.filter((candidate) => candidate.result !== 'passed')).toEqual([]);

    const kept = JSON.parse(await artifactFile(world, 'rollback-drill-matrix', 'matrix.json')) as MatrixRow[];
    expect(kept).toEqual(matrix);
    const summary = drill.jobs.report.summary;
    expect(summary).toContain('| Recovery time (RTO) within 10m00s |');
    expect(summary).toContain('| Recovery point (RPO) within 1h00m |');
    expect(summary).toMatch(
      /Measured: RTO \d+(\.\d)?s \(restore until the database answered\), RPO \d+(\.\d)?s \(age of the newest restorable state\)\./,
    );
  });

  it('removes the side cluster and leaves the live database as it was', async () => {
    expect(readdirSync(cluster.root).filter((name) => name.startsWith('data.restore-'))).toEqual([]);
    expect(
      (await cluster.query<{ version: string }>('shop', 'SELECT version::text FROM schema_migrations')).rows,
    ).toEqual([{ version: '4' }]);
    expect((await cluster.query<{ n: string }>('shop', 'SELECT count(*)::text AS n FROM users')).rows[0].n).toBe('301');
  });
});

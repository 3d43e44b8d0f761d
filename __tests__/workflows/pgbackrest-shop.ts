import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDemoWorld, type DemoWorld, type RunSettings } from '../../scripts/demo/world.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';
import { startPgBackRestCluster, type PgBackRestCluster } from '../../testkit/pgbackrest-cluster.js';

/**
 * The demo app with its database "shop" in a cluster archiving into the pgBackRest stanza "shop",
 * for the workflow tests of backup-method pgbackrest (pgbackrest-rollback, pgbackrest-ssh-rollback):
 * the deploy host's app uses that cluster, and a full backup is there to recover from.
 */
export interface PgBackRestShop {
  world: DemoWorld;
  cluster: PgBackRestCluster;
  /** The runner's log, for failure messages (and SCENARIO_LOG). */
  lines: string[];
  /** Every user row (id, email), as JSON: the data a recovery must bring back. */
  users(): Promise<string>;
  schemaVersion(): Promise<string>;
  /** deploy.yml of `tag` to production; throws with the log's tail when it does not succeed. */
  deploy(tag: string, settings: RunSettings): Promise<WorkflowRun>;
  stop(): Promise<void>;
}

export async function startPgBackRestShop(prefix: string): Promise<PgBackRestShop> {
  const lines: string[] = [];
  const world = await createDemoWorld({
    root: mkdtempSync(path.join(os.tmpdir(), `${prefix}-`)),
    log: (line) => lines.push(line),
  });
  const cluster = await startPgBackRestCluster({ stanza: 'shop' });
  await cluster.query('postgres', 'CREATE DATABASE shop');
  // A restore point is recoverable only from a backup taken before it: backup-db refuses otherwise.
  await cluster.pgbackrest(['backup', '--type=full']);
  // The app on the deploy host uses the archived cluster, as the workflows do.
  const envFile = path.join(world.deployHost, '.env');
  writeFileSync(
    envFile,
    readFileSync(envFile, 'utf8').replace(/^DATABASE_URL=.*$/m, `DATABASE_URL=${cluster.url('shop')}`),
  );
  return {
    world,
    cluster,
    lines,
    users: async () => JSON.stringify((await cluster.query('shop', 'SELECT id, email FROM users ORDER BY id')).rows),
    schemaVersion: async () =>
      (await cluster.query<{ version: string }>('shop', 'SELECT version::text FROM schema_migrations')).rows[0].version,
    deploy: async (tag, settings) => {
      const run = await world.run('deploy.yml', { tag, environment: 'production' }, settings);
      if (run.conclusion !== 'success')
        throw new Error(`deploy of ${tag}: ${run.conclusion}\n${lines.slice(-60).join('\n')}`);
      return run;
    },
    stop: async () => {
      await world.stop();
      await cluster.destroy();
      if (process.env.SCENARIO_LOG) writeFileSync(process.env.SCENARIO_LOG, lines.join('\n'));
    },
  };
}

/** The variables and secrets of backup-method pgbackrest for `cluster`, the DATABASE_URL of both environments. */
export function pgBackRestSettings(
  cluster: PgBackRestCluster,
  vars: Record<string, string>,
  secrets?: Record<string, string>,
): RunSettings {
  return {
    vars: {
      ROLLBACK_BACKUP_METHOD: 'pgbackrest',
      ROLLBACK_PGBACKREST_STANZA: cluster.stanza,
      ROLLBACK_PGBACKREST_VIA: cluster.via.join(' '),
      ROLLBACK_PGBACKREST_STOP_COMMAND: cluster.stopCommand,
      ROLLBACK_PGBACKREST_START_COMMAND: cluster.startCommand,
      ...vars,
    },
    secrets,
    environments: {
      production: { secrets: { DATABASE_URL: cluster.url('shop') } },
      'production-plan': { secrets: { DATABASE_URL: cluster.url('shop') } },
    },
  };
}

/** The rollback succeeded the pgbackrest way: no dump backup nor dump restore, a restore point, a recovery in place. */
export function expectRecoveredInPlace(shop: PgBackRestShop, caller: WorkflowRun, rollback: WorkflowRun): void {
  if (caller.conclusion !== 'success')
    throw new Error(`the rollback ended ${caller.conclusion}:\n${shop.lines.slice(-100).join('\n')}`);
  expect(Object.fromEntries(Object.entries(rollback.jobs).map(([id, job]) => [id, job.result]))).toEqual({
    plan: 'success',
    backup: 'skipped',
    rollback: 'success',
    report: 'success',
  });
  const steps = Object.fromEntries(rollback.jobs.rollback.steps.map((step) => [step.id, step.outcome]));
  expect(steps).toMatchObject({ backup: 'skipped', 'restore-point': 'success', restore: 'skipped', pitr: 'success' });
}

/**
 * The users after a recovery to the point where `usersAtPoint` was read: those rows exactly, and
 * beside them only what came later (the smoke test's), with their ids above the point's.
 */
export function usersSince(
  usersAtPoint: string,
  usersNow: string,
): { kept: unknown[]; atPoint: unknown[]; added: { id: string; email: string }[] } {
  const atPoint = JSON.parse(usersAtPoint) as { id: string; email: string }[];
  const now = JSON.parse(usersNow) as { id: string; email: string }[];
  const lastAtPoint = Math.max(...atPoint.map((row) => Number(row.id)));
  return {
    atPoint,
    kept: now.filter((row) => Number(row.id) <= lastAtPoint),
    added: now.filter((row) => Number(row.id) > lastAtPoint),
  };
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrationLockKeys } from '../../shared/migrations/lock.js';
import { findCalled } from '../../scripts/demo/scenario.js';
import { createDemoWorld, type DemoWorld } from '../../scripts/demo/world.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';

/**
 * The rollback workflows as they hold on real GitHub, through the local runner against the demo
 * app (its repository, deploy host, PostgreSQL, container engine): deploys started by `push` and by
 * `workflow_run` both rolling back; three rollbacks of one environment queued with GitHub's
 * pending-run semantics; a write attempted while a down migration runs, refused because the app is
 * stopped; "nothing to roll back" ending green; and a job without `deployments: write` failing on
 * its deployment call.
 */
function jobResults(run: WorkflowRun): Record<string, string> {
  return Object.fromEntries(Object.entries(run.jobs).map(([id, job]) => [id, job.result]));
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** golang-migrate's lock on the demo database, held the way a deploy's `migrate up` holds it, until released. */
async function holdMigrationLock(world: DemoWorld): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: world.database.url });
  await client.connect();
  const [lock] = migrationLockKeys(
    world.database.name,
    { schema: 'public', table: 'schema_migrations' } as never,
    'golang-migrate',
  );
  await client.query(`SELECT pg_advisory_lock(${lock.id})`);
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      await client.query(`SELECT pg_advisory_unlock(${lock.id})`).catch(() => undefined);
      await client.end();
    },
  };
}

/** Until a rollback's down migration waits for that lock (the app already stopped, if it stops it). */
/**
 * Until apply-down-migrations reports that it waits for the migration lock (in the log lines from
 * `since` on). It polls with pg_try_advisory_lock, so no backend shows a lock wait to look for.
 */
function untilDownMigrationWaits(lines: string[], since: number): Promise<void> {
  return until('the down migration to wait for the lock', async () =>
    lines.slice(since).some((line) => line.includes('Waiting for the migration lock')),
  );
}

describe('rollback workflows on the demo app', () => {
  let world: DemoWorld;
  const lines: string[] = [];

  beforeAll(async () => {
    world = await createDemoWorld({
      root: mkdtempSync(path.join(os.tmpdir(), 'rollback-scenarios-')),
      log: (line) => lines.push(line),
    });
    for (const tag of ['v1.1.0', 'v1.2.0']) {
      const deploy = await world.run('deploy.yml', { tag, environment: 'production' });
      if (deploy.conclusion !== 'success')
        throw new Error(`deploy of ${tag}: ${deploy.conclusion}\n${lines.slice(-40).join('\n')}`);
    }
  }, 600_000);

  afterAll(async () => {
    await world?.stop();
    if (process.env.SCENARIO_LOG) (await import('node:fs')).writeFileSync(process.env.SCENARIO_LOG, lines.join('\n'));
  });

  it('rolls back a deploy started by pushing its tag: the called workflows see the push and still decide to roll back', async () => {
    const deploy = await world.run(
      'deploy.yml',
      {},
      { eventName: 'push', ref: 'refs/tags/v1.3.0', eventPayload: { ref: 'refs/tags/v1.3.0' } },
    );
    expect(jobResults(deploy)).toEqual({ deploy: 'failure', rollback: 'success' });
    expect(deploy.jobs.deploy.outputs.tag).toBe('v1.3.0');
    const autoRollback = deploy.jobs.rollback.called!;
    expect(autoRollback.jobs.decide.outputs['roll-back']).toBe('true');
    expect(findCalled(deploy, 'rollback', 'rollback').outputs).toMatchObject({
      'current-tag': 'v1.3.0',
      'target-tag': 'v1.2.0',
      outcome: 'rolled-back',
    });
    expect(await world.appState()).toEqual({
      runningTag: 'v1.2.0',
      healthStatus: 200,
      healthVersion: 'v1.2.0',
      schemaVersion: 5,
    });
  }, 300_000);

  it("rolls back a deploy started by workflow_run of a successful release: the caller's event is workflow_run/success, and the rollback still runs", async () => {
    const release = {
      name: 'Release',
      conclusion: 'success',
      head_branch: 'v1.3.0',
      html_url: 'https://github.com/acme/shop/actions/runs/77',
      updated_at: new Date().toISOString(),
    };
    // With ROLLBACK_IMAGE_ONLY_BACKUP=skip this image-only rollback takes no backup at all.
    const deploy = await world.run(
      'deploy.yml',
      {},
      {
        eventName: 'workflow_run',
        eventPayload: { workflow_run: release },
        vars: { ROLLBACK_IMAGE_ONLY_BACKUP: 'skip' },
      },
    );
    expect(jobResults(deploy)).toEqual({ deploy: 'failure', rollback: 'success' });
    expect(deploy.jobs.deploy.outputs.tag).toBe('v1.3.0');
    // auto-rollback.yml sees event_name workflow_run and a conclusion of success: it must go by its inputs, not by them.
    expect(deploy.jobs.rollback.called!.jobs).toMatchObject({
      decide: { result: 'success', outputs: { 'roll-back': 'true' } },
      rollback: { result: 'success' },
    });
    const rollback = findCalled(deploy, 'rollback', 'rollback');
    expect(rollback.outputs).toMatchObject({
      'current-tag': 'v1.3.0',
      'target-tag': 'v1.2.0',
      outcome: 'rolled-back',
      'backup-artifact': '',
    });
    expect(rollback.jobs.backup.result).toBe('skipped');
    expect(Number(rollback.outputs['detection-to-healthy-seconds'])).toBeGreaterThan(0);
    expect(await world.appState()).toEqual({
      runningTag: 'v1.2.0',
      healthStatus: 200,
      healthVersion: 'v1.2.0',
      schemaVersion: 5,
    });
  }, 300_000);

  it('never leaves the app down: when the down migration fails (the lock never comes), the stopped services start again and the job fails', async () => {
    const lock = await holdMigrationLock(world);
    try {
      const caller = await world.run('rollback.yml', {
        environment: 'production',
        'target-tag': 'v1.1.0',
        reason: 'lock held',
      });
      const rollback = findCalled(caller, 'rollback');
      expect(caller.conclusion).toBe('failure');
      expect(jobResults(rollback)).toEqual({
        plan: 'success',
        backup: 'skipped',
        rollback: 'failure',
        report: 'success',
      });
      const steps = Object.fromEntries(rollback.jobs.rollback.steps.map((step) => [step.id, step]));
      expect([steps.stop.outcome, steps.down.outcome, steps.restart.outcome, steps.redeploy.outcome]).toEqual([
        'success',
        'failure',
        'success',
        'skipped',
      ]);
      expect(steps.down.errors.join('\n')).toMatch(/lock/i);
      expect(rollback.outputs.outcome).toBe('failed');
      expect(Number(rollback.outputs['downtime-seconds'])).toBeGreaterThan(0);
      expect(rollback.jobs.report.summary).toContain('| Database | failure |');
    } finally {
      await lock.release();
    }
    // The release that ran before is serving again, on its schema.
    expect(await world.appState()).toEqual({
      runningTag: 'v1.2.0',
      healthStatus: 200,
      healthVersion: 'v1.2.0',
      schemaVersion: 5,
    });
  }, 300_000);

  it('queues rollbacks of one environment as GitHub does, refuses writes while the schema is reverted, and ends a rollback to what runs green', async () => {
    const lateWriter = async () =>
      (await world.database.query("SELECT 1 FROM users WHERE email = 'late-writer@example.com'")).rowCount;
    const firstEvent = world.concurrency.events.length;
    // A deploy's `migrate up` holding the migration lock: the down migration waits for it, with the app already stopped.
    const lock = await holdMigrationLock(world);
    try {
      const since = lines.length;
      const first = world.run('rollback.yml', { environment: 'production', 'target-tag': 'v1.1.0', reason: 'first' });
      await untilDownMigrationWaits(lines, since);
      // The app is stopped: a write is refused outright, not accepted by the old release into a changing schema.
      const write = await fetch(`${world.baseUrl}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'late-writer@example.com', password: 'correct-horse-battery-staple' }),
      }).then(
        (response) => `answered ${response.status}`,
        (error: { cause?: { code?: string } }) => error.cause?.code,
      );
      expect(write).toBe('ECONNREFUSED');

      const group = 'deploy-production';
      const holder = world.concurrency.state(group);
      expect(holder).toEqual({ running: 'Rollback production to v1.1.0 › rollback', pending: undefined });
      const second = world.run('rollback.yml', { environment: 'production', 'target-tag': 'v1.0.0', reason: 'second' });
      await until(
        'the second rollback to wait',
        () => world.concurrency.state(group).pending === 'Rollback production to v1.0.0 › rollback',
      );
      const third = world.run('rollback.yml', { environment: 'production', 'target-tag': 'v1.1.0', reason: 'third' });
      await until(
        'the third rollback to replace the second',
        () => world.concurrency.state(group).pending === 'Rollback production to v1.1.0 › rollback',
      );
      await lock.release();
      const [a, b, c] = await Promise.all([first, second, third]);

      // The first ran to the end: v1.1.0 on schema 3, with the app stopped for the revert.
      const rollbackA = findCalled(a, 'rollback');
      expect(rollbackA.outputs).toMatchObject({
        'target-tag': 'v1.1.0',
        strategy: 'down-migrations',
        outcome: 'rolled-back',
      });
      expect(Number(rollbackA.outputs['downtime-seconds'])).toBeGreaterThan(0);
      expect(await lateWriter()).toBe(0);
      // The second was pending when the third arrived: GitHub cancels it; nothing of it ran.
      expect(b.conclusion).toBe('cancelled');
      expect(b.jobs.rollback).toMatchObject({
        result: 'cancelled',
        errors: [`Canceling since a higher priority waiting request for '${group}' exists`],
      });
      expect(b.jobs.rollback.called!.jobs).toEqual({});
      // The third ran after the first: v1.1.0 was running by then, so there was nothing to roll back, and it ended green.
      const rollbackC = findCalled(c, 'rollback');
      expect(c.conclusion).toBe('success');
      expect(jobResults(rollbackC)).toEqual({
        plan: 'success',
        backup: 'skipped',
        rollback: 'skipped',
        report: 'success',
      });
      expect(rollbackC.outputs).toMatchObject({
        'current-tag': 'v1.1.0',
        'target-tag': 'v1.1.0',
        outcome: 'nothing-to-do',
      });
      expect(rollbackC.jobs.plan.outputs['nothing-to-roll-back']).toBe('true');
      expect(rollbackC.jobs.report.summary).toContain(
        'ℹ️ production: nothing to roll back (v1.1.0 is already running)',
      );
      expect(rollbackC.jobs.plan.startedAt).toBeGreaterThanOrEqual(rollbackA.startedAt + rollbackA.durationMs);
      expect(
        world.concurrency.events
          .slice(firstEvent)
          .map(({ holder, event }) => `${event} ${holder.replace(/^Rollback production to /, '')}`),
      ).toEqual([
        'running v1.1.0 › rollback',
        'pending v1.0.0 › rollback',
        'cancelled v1.0.0 › rollback',
        'pending v1.1.0 › rollback',
        'released v1.1.0 › rollback',
        'running v1.1.0 › rollback',
        'released v1.1.0 › rollback',
      ]);
      expect(await world.appState()).toEqual({
        runningTag: 'v1.1.0',
        healthStatus: 200,
        healthVersion: 'v1.1.0',
        schemaVersion: 3,
      });
      // Deploys and rollbacks took turns in the same group.
      const holders = new Set(
        world.concurrency.events
          .filter((event) => event.group === group)
          .map((event) => event.holder.split(' › ')[0].split(' ')[0]),
      );
      expect([...holders].sort()).toEqual(['Deploy', 'Rollback']);
    } finally {
      await lock.release();
    }
  }, 600_000);

  it('with quiesce: false keeps the old release serving, and accepting writes, while the schema is reverted', async () => {
    const lock = await holdMigrationLock(world);
    try {
      const since = lines.length;
      const running = world.run('rollback.yml', {
        environment: 'production',
        'target-tag': 'v1.0.0',
        'db-policy': 'down-migrations',
        quiesce: false,
        reason: 'no quiesce',
      });
      await untilDownMigrationWaits(lines, since);
      const write = await fetch(`${world.baseUrl}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'during-revert@example.com', password: 'correct-horse-battery-staple' }),
      });
      expect(write.status).toBe(201);
      await lock.release();
      const rollback = findCalled(await running, 'rollback');
      expect(rollback.outputs).toMatchObject({
        'target-tag': 'v1.0.0',
        strategy: 'down-migrations',
        outcome: 'rolled-back',
        'downtime-seconds': '',
      });
      expect(rollback.jobs.rollback.steps.find((step) => step.id === 'stop')?.outcome).toBe('skipped');
      expect(rollback.jobs.report.summary).not.toContain('Services stopped');
    } finally {
      await lock.release();
    }
    expect(await world.appState()).toEqual({
      runningTag: 'v1.0.0',
      healthStatus: 200,
      healthVersion: 'v1.0.0',
      schemaVersion: 2,
    });
  }, 300_000);

  it("refuses the deployment call of a job whose token lacks deployments: write (GitHub's 403), and records nothing", async () => {
    const { runningTag } = await world.appState();
    writeFileSync(
      path.join(world.appRepo, '.github', 'workflows', 'redeploy-read-only.yml'),
      [
        'name: Redeploy with a read-only token',
        'on: workflow_dispatch',
        'permissions: {}',
        'jobs:',
        '  redeploy:',
        '    runs-on: ubuntu-latest',
        '    timeout-minutes: 5',
        '    permissions:',
        '      contents: read',
        '      deployments: read',
        '    steps:',
        '      - uses: rollback-actions/rollback-actions/actions/redeploy-tag@v1',
        '        with:',
        `          tag: ${runningTag}`,
        '          services: app',
        '          working-directory: ${{ vars.ROLLBACK_WORKING_DIRECTORY }}',
        '          project-name: ${{ vars.ROLLBACK_PROJECT_NAME }}',
        '          environment: production',
        '          github-token: ${{ github.token }}',
        '',
      ].join('\n'),
    );
    const deployments = world.github.deployments.deployments.length;
    const from = lines.length;
    const run = await world.run('redeploy-read-only.yml', {});
    expect(run.jobs.redeploy.permissions).toMatchObject({ deployments: 'read' });
    // The token may read deployments, not create them: GitHub's answer, and redeploy-tag says which permission is missing.
    const log = lines.slice(from).join('\n');
    expect(log).toMatch(
      /Warning: Could not record a GitHub deployment for "production": .*Resource not accessible by integration/,
    );
    expect(log).toMatch(/deployments: write/);
    expect(world.github.deployments.deployments).toHaveLength(deployments);
    expect(await world.appState()).toMatchObject({ runningTag, healthStatus: 200 });
  }, 300_000);
});

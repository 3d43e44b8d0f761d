import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unexpectedFailures } from '../../scripts/demo/main.js';
import {
  manualRollbackProblems,
  runDemo,
  type AppState,
  type DemoResult,
  type DemoWorld,
} from '../../scripts/demo/scenario.js';
import type { IssueRecord } from '../../testkit/github-api/issues.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';

/**
 * The `npm run demo` scenario, end to end through the real workflow files (the example deploy
 * pipeline, auto-rollback.yml, rollback.yml, rollback-drill.yml) on the local runner, with
 * PostgreSQL, the container engine and the bundled actions: deploys of v1.1.0 and v1.2.0 pass,
 * v1.3.0 fails its smoke test and is rolled back on its own (image-only: its migration is additive),
 * the drill passes, then a manual rollback to v1.1.0 reverts the breaking migration with the app
 * stopped. DATABASE_URL exists only as environment secrets (production: the migrating user;
 * production-plan: a read-only one). The final state is read from the engine, the app and the
 * database, not from the workflows' own claims.
 */
function jobResults(run: WorkflowRun): Record<string, string> {
  return Object.fromEntries(Object.entries(run.jobs).map(([id, job]) => [id, job.result]));
}

interface ExtraRuns {
  before: AppState;
  deploymentsBefore: number;
  lateTrigger: WorkflowRun;
  afterLateTrigger: AppState;
  dryRun: WorkflowRun;
  afterDryRun: AppState;
  deploymentsAfter: number;
  failedDrills: WorkflowRun[];
  issues: IssueRecord[];
  readerUser: string;
  migratorUser: string;
}

/** Runs against the world the story left (v1.2.0 after the automatic rollback), before the manual rollback. */
async function extraRuns(world: DemoWorld, into: Partial<ExtraRuns>): Promise<void> {
  into.readerUser = new URL(world.readerUrl).username;
  into.migratorUser = new URL(world.database.url).username;
  into.before = await world.appState();
  into.deploymentsBefore = world.github.deployments.deployments.length;
  // The failed deploy's workflow_run event arriving after its rollback already ran: no second rollback.
  into.lateTrigger = await world.run(
    'auto-rollback.yml',
    {},
    {
      suite: true,
      eventName: 'workflow_run',
      eventPayload: {
        workflow_run: {
          name: 'Deploy',
          conclusion: 'failure',
          html_url: 'https://github.com/acme/shop/actions/runs/1003',
          updated_at: new Date().toISOString(),
        },
      },
    },
  );
  into.afterLateTrigger = await world.appState();
  into.dryRun = await world.run('rollback.yml', { environment: 'production', 'target-tag': 'v1.1.0', 'dry-run': true });
  into.afterDryRun = await world.appState();
  into.deploymentsAfter = world.github.deployments.deployments.length;
  // A drill whose last-known-good image was pruned: it fails, opens an issue, then comments on it.
  for (let run = 0; run < 2; run++) {
    (into.failedDrills ??= []).push(
      await world.run(
        'rollback-drill.yml',
        { environment: 'production' },
        { suite: true, vars: { ROLLBACK_IMAGE: 'localhost/pruned-image' } },
      ),
    );
  }
  into.issues = world.github.issues.issues;
}

describe('the demo scenario through the workflows', () => {
  let result: DemoResult;
  const extra: Partial<ExtraRuns> = {};
  const lines: string[] = [];
  let began: number;

  beforeAll(async () => {
    began = Date.now();
    result = await runDemo({
      root: mkdtempSync(path.join(os.tmpdir(), 'demo-e2e-')),
      log: (line) => lines.push(line),
      manualRollbackTo: 'v1.1.0',
      drill: true,
      extra: (world) => extraRuns(world, extra),
    });
  }, 900_000);

  it('no job fails but the broken deploy of v1.3.0 (the demo exits non-zero otherwise)', () => {
    expect(result.runs.map((run) => run.label)).toEqual([
      'deploy v1.1.0',
      'deploy v1.2.0',
      'deploy v1.3.0',
      'rollback drill',
      'manual rollback to v1.1.0',
    ]);
    expect(unexpectedFailures(result)).toEqual([]);
    expect(result.deploys['v1.3.0'].jobs.deploy.outcome).toBe('failure');
  });

  it('deploys v1.1.0 and v1.2.0, each marked successful only after its smoke test, and skips their rollback job', () => {
    for (const tag of ['v1.1.0', 'v1.2.0']) {
      expect({ tag, conclusion: result.deploys[tag].conclusion, jobs: jobResults(result.deploys[tag]) }).toEqual({
        tag,
        conclusion: 'success',
        jobs: { deploy: 'success', rollback: 'skipped' },
      });
      expect(result.deploys[tag].jobs.deploy.outputs['smoke-passed']).toBe('true');
    }
  });

  it('fails the v1.3.0 deploy at its smoke test and rolls back on its own to v1.2.0, image only, the backup alongside', () => {
    const failed = result.deploys['v1.3.0'];
    expect(jobResults(failed)).toEqual({ deploy: 'failure', rollback: 'success' });
    const smoke = failed.jobs.deploy.steps.find((step) => step.name.startsWith('Smoke test'));
    expect(smoke?.outcome).toBe('failure');
    expect(smoke?.errors.join('\n')).toMatch(/health.*expected 200, actual 500/);

    const { automatic } = result;
    expect(jobResults(automatic.run)).toEqual({
      plan: 'success',
      backup: 'success',
      rollback: 'success',
      report: 'success',
    });
    expect(automatic.run.outputs).toMatchObject({
      'current-tag': 'v1.3.0',
      'target-tag': 'v1.2.0',
      strategy: 'image-only',
      outcome: 'rolled-back',
      'downtime-seconds': '',
    });
    // Nothing was stopped and no migration reverted: v1.2.0 runs on schema 5.
    const steps = Object.fromEntries(automatic.run.jobs.rollback.steps.map((step) => [step.name, step.outcome]));
    expect(steps).toMatchObject({
      'Back up (verified, checksummed, kept 30 days)': 'skipped',
      'Stop the app': 'skipped',
      'Revert migrations': 'skipped',
    });
    // The backup ran beside the rollback job, not before it.
    const { backup, rollback } = automatic.run.jobs;
    expect(backup.startedAt).toBeLessThan(rollback.startedAt + rollback.durationMs);
    expect(rollback.startedAt).toBeLessThan(backup.startedAt + backup.durationMs);
    expect(automatic.state).toEqual({
      runningTag: 'v1.2.0',
      healthStatus: 200,
      healthVersion: 'v1.2.0',
      schemaVersion: 5,
    });
    expect(automatic.run.jobs.rollback.outputs['smoke-passed']).toBe('true');
  });

  it("gives DATABASE_URL from each job's environment: the read-only user to the plan and the alongside backup, the migrating user to the rollback job, nothing to the others", () => {
    const { automatic, manual } = result;
    const source = (run: WorkflowRun, job: string) => run.jobs[job].secretSources?.DATABASE_URL;
    expect([
      source(automatic.run, 'plan'),
      source(automatic.run, 'backup'),
      source(automatic.run, 'rollback'),
      source(automatic.run, 'report'),
    ]).toEqual(['environment production-plan', 'environment production-plan', 'environment production', undefined]);
    expect(automatic.run.jobs.plan.environment).toBe('production-plan');
    expect(automatic.run.jobs.rollback.environment).toBe('production');
    // The deploy's own job is in production; auto-rollback's decide job sees no database at all.
    expect(source(result.deploys['v1.3.0'], 'deploy')).toBe('environment production');
    const autoRollback = result.deploys['v1.3.0'].jobs.rollback.called!;
    expect(source(autoRollback, 'decide')).toBeUndefined();
    // The approver's view: the down SQL was computed by the read-only user before the rollback job ran.
    const shown = manual!.run.jobs.plan.steps.find((step) => step.name === 'Show the down SQL');
    expect(shown?.outcome).toBe('success');
    expect(shown?.outputs['dry-run-sql']).toMatch(/ALTER TABLE (public\.)?projects RENAME COLUMN name TO title/i);
    expect(manual!.run.jobs.plan.startedAt + manual!.run.jobs.plan.durationMs).toBeLessThanOrEqual(
      manual!.run.jobs.rollback.startedAt,
    );
    expect(extra.readerUser).not.toBe(extra.migratorUser);
  });

  it('takes a backup whose checksum matches the file in the uploaded artifact', () => {
    for (const rollback of [result.automatic, result.manual!]) {
      expect(rollback.backup.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(rollback.backup.artifactChecksum).toBe(rollback.backup.checksum);
    }
  });

  it('rolls back by hand to v1.1.0: the app stopped, the breaking rename reverted, the target up; the downtime in the timeline', () => {
    const manual = result.manual!;
    expect(manual.run.outputs).toMatchObject({
      'current-tag': 'v1.2.0',
      'target-tag': 'v1.1.0',
      strategy: 'down-migrations',
      outcome: 'rolled-back',
    });
    expect(
      JSON.parse(manual.run.jobs.rollback.outputs.reverted).map((migration: { version: string }) => migration.version),
    ).toEqual(['5', '4']);
    expect(manual.state).toEqual({
      runningTag: 'v1.1.0',
      healthStatus: 200,
      healthVersion: 'v1.1.0',
      schemaVersion: 3,
    });
    const order = manual.run.jobs.rollback.steps.filter((step) => step.outcome === 'success').map((step) => step.name);
    expect(order.indexOf('Stop the app')).toBeGreaterThan(
      order.indexOf('Back up (verified, checksummed, kept 30 days)'),
    );
    expect(order.indexOf('Revert migrations')).toBeGreaterThan(order.indexOf('Stop the app'));
    expect(order.indexOf('Redeploy v1.1.0')).toBeGreaterThan(order.indexOf('Revert migrations'));
    expect(Number(manual.downtimeSeconds)).toBeGreaterThan(0);
    expect(manual.run.jobs.report.summary).toMatch(/\*\*Downtime: [\d.]+ s\*\* \(services stopped /);
    expect(manual.run.jobs.report.summary).toContain('| Services stopped | success |');
  });

  it("shows the approver exactly what runs: the plan lists 5 (left applied by the image-only rollback) and 4, with 5's data-loss finding", () => {
    const { plan, applied, reportDatabaseRow } = result.manual!;
    expect(
      plan.migrations.map((migration) => [
        migration.version,
        migration.name,
        migration.class,
        migration.inCurrentRelease,
      ]),
    ).toEqual([
      ['5', 'add_project_archived', 'additive', false],
      ['4', 'rename_project_title', 'breaking', true],
    ]);
    expect(plan.migrations[0].revertWarnings).toEqual([
      expect.objectContaining({
        kind: 'data-loss',
        message:
          'Reverting drops column projects.archived: values written to it since migration 5 add_project_archived was applied are lost.',
      }),
    ]);
    // The strategy follows from the whole revert set, and the verdict names what reverting 5 destroys.
    expect(plan.strategy).toBe('down-migrations');
    expect(plan.reasons).toEqual([
      '4 rename_project_title is breaking for v1.1.0: renames column projects.title to name: old code still uses projects.title.',
      'Every migration to revert has a down file.',
    ]);
    expect(plan.verdict).toBe(
      'Revert 2 migration(s) (5, 4) with their down files to schema 3, then deploy v1.1.0. 4 rename_project_title is breaking for v1.1.0: renames column projects.title to name: old code still uses projects.title. ' +
        'Back up first: reverting drops projects.archived. 5 is applied in the database although v1.2.0 does not have it (an earlier image-only rollback, or a hotfix).',
    );
    // apply-down-migrations ran that very plan, and the report's schema line is its own account.
    expect(applied).toEqual({ initialVersion: '5', finalVersion: '3', digest: plan.digest });
    expect(plan.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(reportDatabaseRow).toMatch(
      /^\| Database \| success \| [\d.]+ s \| reverted: 5 add_project_archived, 4 rename_project_title \(schema 5 → 3\) \|$/,
    );
    expect(manualRollbackProblems(result.manual!)).toEqual([]);
  });

  it("the demo's own check of the manual rollback fails when the plan or the report would not match", () => {
    const manual = result.manual!;
    expect(
      manualRollbackProblems({ ...manual, plan: { ...manual.plan, migrations: manual.plan.migrations.slice(1) } }),
    ).toEqual([
      'the approved plan lists migrations 4, not 5 and 4',
      "the approved plan does not show 5's data-loss finding (reverting drops projects.archived)",
    ]);
    expect(
      manualRollbackProblems({
        ...manual,
        reportDatabaseRow: manual.reportDatabaseRow.replace('schema 5 → 3', 'schema 4 → 3'),
      }),
    ).toEqual([expect.stringMatching(/does not say \(schema 5 → 3\), apply-down-migrations' own versions$/)]);
    expect(manualRollbackProblems({ ...manual, applied: { ...manual.applied!, digest: 'sha256:other' } })).toEqual([
      expect.stringMatching(/^apply-down-migrations ran sha256:other, not the approved sha256:/),
    ]);
  });

  it('runs the monthly drill on a throwaway copy: restore, revert verified, ups re-applied, image present; matrix kept as an artifact', () => {
    const drill = result.drill!;
    expect(jobResults(drill)).toEqual({ database: 'success', image: 'success', staging: 'skipped', report: 'success' });
    const matrix = JSON.parse(drill.outputs.matrix) as { scenario: string; result: string; 'last-tested': string }[];
    expect(matrix.map((row) => [row.scenario, row.result])).toEqual([
      ['Restore the latest backup', 'passed'],
      ['Down migrations v1.2.0 → v1.1.0', 'passed'],
      ['Schema after down equals a fresh migrate-up to v1.1.0', 'passed'],
      ['Ups re-applied: schema as restored', 'passed'],
      ['Image localhost/rollback-demo-app:v1.1.0 available on the target', 'passed'],
    ]);
    expect(drill.outputs.passed).toBe('true');
    // RPO of a dump drill: the age of the restored backup (backup-db's createdAt) when the restore started.
    const database = drill.jobs.database.outputs;
    const backupTaken = Date.parse(database['newest-restorable-at']);
    const restoreStarted = Date.parse(database['restore-started-at']);
    expect(backupTaken).toBeGreaterThan(began);
    expect(backupTaken).toBeLessThan(restoreStarted);
    const restoreRow = (matrix as { 'rpo-s'?: number; 'rto-s'?: number }[])[0];
    expect(restoreRow['rpo-s']).toBe(Math.round((restoreStarted - backupTaken) / 100) / 10);
    expect(restoreRow['rto-s']).toBeGreaterThan(0);
    expect(drill.jobs.report.summary).toContain('## ✅ Rollback drill passed: production');
    expect(lines.join('\n')).toMatch(/upload-artifact: rollback-drill-matrix \(2 file\(s\), \d+ bytes, id \d+\)/);
    // Its image check reads the host and key of the planning environment, not the repository's.
    expect(drill.jobs.image.environment).toBe('production-plan');
  });

  it('does not roll back twice: a late workflow_run of the failed deploy finds the environment healthy and stops', () => {
    const late = extra.lateTrigger!;
    expect(jobResults(late)).toEqual({ decide: 'success', rollback: 'skipped' });
    expect(late.jobs.decide.outputs['roll-back']).toBe('false');
    expect(lines.join('\n')).toMatch(
      /The latest deployment of production \(v1\.2\.0, id \d+\) is 'success': nothing to roll back/,
    );
    expect(extra.afterLateTrigger).toEqual(extra.before);
  });

  it('in a dry run shows the plan and the down SQL and changes nothing', () => {
    const caller = extra.dryRun!;
    const rollback = caller.jobs.rollback.called!;
    expect(jobResults(rollback)).toEqual({
      plan: 'success',
      backup: 'skipped',
      rollback: 'skipped',
      report: 'success',
    });
    const downSql = rollback.jobs.plan.steps.find((step) => step.name === 'Show the down SQL');
    expect(downSql?.outcome).toBe('success');
    expect(downSql?.outputs['dry-run-sql']).toMatch(/ALTER TABLE (public\.)?projects RENAME COLUMN name TO title/i);
    expect(rollback.outputs).toMatchObject({ 'target-tag': 'v1.1.0', strategy: 'down-migrations', outcome: 'dry-run' });
    expect(rollback.jobs.report.summary).toContain(
      '📝 Dry run: production would roll back from v1.2.0 to v1.1.0 (down-migrations)',
    );
    expect(extra.afterDryRun).toEqual(extra.before);
    expect(extra.deploymentsAfter).toBe(extra.deploymentsBefore);
  });

  it('opens an issue when a drill fails (image pruned), and comments on it when the next one fails too', () => {
    const [first, second] = extra.failedDrills!;
    for (const drill of [first, second]) {
      expect(drill.conclusion).toBe('failure');
      expect(jobResults(drill)).toEqual({
        database: 'success',
        image: 'failure',
        staging: 'skipped',
        report: 'success',
      });
      expect(drill.outputs.passed).toBe('false');
      const matrix = JSON.parse(drill.outputs.matrix) as { scenario: string; result: string; details: string }[];
      expect(matrix.at(-1)).toMatchObject({
        scenario: 'Image localhost/pruned-image:v1.1.0 available on the target',
        result: 'failed',
      });
    }
    expect(extra.issues).toHaveLength(1);
    const [issue] = extra.issues!;
    expect(issue).toMatchObject({
      title: 'Rollback drill failed: production',
      labels: ['rollback-drill'],
      state: 'open',
    });
    expect(issue.body).toContain('## ❌ Rollback drill failed: production');
    expect(issue.body).toContain('| Image localhost/pruned-image:v1.1.0 available on the target |');
    expect(issue.comments).toHaveLength(1);
    expect(issue.comments[0]).toContain('## ❌ Rollback drill failed: production');
  });

  it('reports detection to healthy, writes the timeline and incident record, and notifies start and end', () => {
    expect(Number(result.automatic.reportedSeconds)).toBeGreaterThan(0);
    expect(result.automatic.detectionToHealthyMs).toBeGreaterThan(0);
    const summary = result.automatic.run.jobs.report.summary;
    expect(summary).toContain('## ✅ production rolled back from v1.3.0 to v1.2.0');
    expect(summary).toMatch(/\| Backup \(alongside\) \| success \| [\d.]+ s \| db-backup-production-pre-rollback-/);
    expect(summary).toMatch(/\| Smoke test \| passed \| [\d.]+ s \| 5 of 5 checks passed \|/);
    expect(summary).toMatch(/From → to: {3}v1\.3\.0 → v1\.2\.0/);
    expect(result.notifications).toEqual([
      expect.stringMatching(
        /^:rewind: Rollback of production started: v1\.3\.0 -> v1\.2\.0 \(image-only\)\. Automatic rollback: Deploy of v1\.3\.0 failed/,
      ),
      expect.stringMatching(/^✅ production rolled back from v1\.3\.0 to v1\.2\.0 in [\d.]+ s from detection/),
      expect.stringMatching(/^:rewind: Rollback of production started: v1\.2\.0 -> v1\.1\.0 \(down-migrations\)/),
      expect.stringMatching(
        /^✅ production rolled back from v1\.2\.0 to v1\.1\.0 in [\d.]+ s from detection, [\d.]+ s down/,
      ),
    ]);
  });

  it("folds the tools' progress groups as GitHub's log view does: pg_dump's per-table lines counted, not printed", () => {
    const log = lines.join('\n');
    expect(log).toMatch(/▸ pg_dump \S+ \([^)]*\)\n[^\n]*\(\d+ lines folded\)/);
    expect(log).not.toMatch(/pg_dump: reading/);
  });

  it('never shows a database password, the smoke token or a GitHub token in the runner log', () => {
    const log = lines.join('\n');
    expect(log).not.toMatch(/postgres:\/\/[^:\s]+:[^*@\s]+@/);
    expect(log).not.toMatch(/op-[0-9a-f]{20}/);
    expect(log).not.toMatch(/ghs_demo[0-9a-f]{24}/);
    expect(log).not.toMatch(/ghs_[0-9a-f]{36}/);
  });
});

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { locateBackup } from '../../shared/backup/artifacts.js';
import { sha256File } from '../../shared/backup/checksum.js';
import { runProcess } from '../../shared/process.js';
import type { ArtifactService } from '../../testkit/artifacts/index.js';
import type { JobRun, StepRun, WorkflowRun } from '../local-runner/types.js';
import { timeline } from '../local-runner/timeline.js';
import { createDemoWorld, ENVIRONMENT, type AppState, type DemoWorld } from './world.js';

export type { AppState, DemoWorld } from './world.js';

/**
 * The whole story on one machine, through the real workflow files run by the local runner: the
 * demo app's deploy pipeline (action-docs/examples/deploy.yml, copied into the app repository as
 * users copy it) deploys v1.1.0, then v1.2.0 (a breaking migration), then the broken v1.3.0, whose
 * smoke test fails; its rollback job calls auto-rollback.yml, which calls rollback.yml: plan,
 * backup alongside, redeploy, smoke. Optionally the monthly drill, and an on-call engineer pressing
 * the manual button (rollback.yml via the example caller) to go back to v1.1.0, which needs down
 * migrations: the app is stopped while they run.
 *
 * Real parts throughout: PostgreSQL, the container engine with docker-compose, the bundled actions;
 * GitHub's REST API and artifact service are the local stand-ins.
 */
export interface DemoOptions {
  /** Working directory for the run (repositories, deploy host, runner workspaces); removed at the end. */
  root: string;
  log: (line: string) => void;
  /** After the automatic rollback, roll back by hand to this tag (rollback.yml via the example caller). */
  manualRollbackTo?: string;
  /** After the automatic rollback (before any manual one), run the monthly drill (rollback-drill.yml). */
  drill?: boolean;
  /** Modelled wait before each job starts, as on GitHub-hosted runners (the benchmark). */
  jobStartLatencyMs?: number;
  /** Before the story starts: changes to the world (a test that makes an upload fail). */
  prepare?: (world: DemoWorld) => void;
  /** Runs after the drill, before the manual rollback: more workflow runs against the same world (tests). */
  extra?: (world: DemoWorld) => Promise<void>;
  /** How the app runs on its deploy host: a compose project (default), or a stack on the engine's swarm. */
  platform?: 'compose' | 'swarm';
}

/** The plan the approver saw at the environment gate (the plan job's outputs). */
export interface ApprovedPlan {
  verdict: string;
  strategy: string;
  reasons: string[];
  digest: string;
  migrations: {
    version: string;
    name: string;
    class: string;
    inCurrentRelease: boolean;
    revertWarnings: { kind: string; message: string }[];
  }[];
}

export interface RollbackRecord {
  /** The rollback.yml run (called by auto-rollback or by the manual caller). */
  run: WorkflowRun;
  plan: ApprovedPlan;
  /** What apply-down-migrations itself read and ran (absent when it did not run). */
  applied?: { initialVersion: string; finalVersion: string; digest: string };
  /** The report's "Database" row of the timeline table. */
  reportDatabaseRow: string;
  /** Detection (the failed smoke test's end, or the button press) to the rollback's smoke test passing, as the runner saw it. */
  detectionToHealthyMs: number;
  /** The figure the workflow itself reported in its summary. */
  reportedSeconds: string;
  /** Seconds the app was stopped for the database change, as the workflow reported it. */
  downtimeSeconds: string;
  strategy: string;
  outcome: string;
  backup: { artifactName: string; checksum: string; artifactChecksum: string };
  state: AppState;
}

/** A run of the story, and the jobs of it that may fail (the broken deploy's own). */
export interface StoryRun {
  label: string;
  run: WorkflowRun;
  expectedFailures: string[];
}

export interface DemoResult {
  deploys: Record<string, WorkflowRun>;
  automatic: RollbackRecord;
  manual?: RollbackRecord;
  drill?: WorkflowRun;
  /** Every run the story made, in order, for checking that nothing failed but the broken deploy. */
  runs: StoryRun[];
  notifications: string[];
  timelines: string[];
}

export function findCalled(run: WorkflowRun, ...jobs: string[]): WorkflowRun {
  let current = run;
  for (const job of jobs) {
    const called = current.jobs[job]?.called;
    if (!called)
      throw new Error(
        `${current.name}: job ${job} did not call a workflow (result ${current.jobs[job]?.result ?? 'missing'})`,
      );
    current = called;
  }
  return current;
}

export function step(job: JobRun | undefined, prefix: string): StepRun | undefined {
  return job?.steps.find((candidate) => candidate.name.startsWith(prefix));
}

/**
 * What the demo's manual rollback (v1.2.0 -> v1.1.0, after the automatic image-only rollback left
 * migration 5 applied) must show: the approved plan lists 5 and 4, with 5's data-loss finding, and
 * its strategy; apply-down-migrations ran that plan (same digest); the report's schema line is
 * apply-down-migrations' own initial and final versions. Empty when all holds.
 */
export function manualRollbackProblems(rollback: RollbackRecord): string[] {
  const problems: string[] = [];
  const { plan, applied } = rollback;
  const versions = plan.migrations.map((migration) => migration.version).join(',');
  if (versions !== '5,4') problems.push(`the approved plan lists migrations ${versions || 'none'}, not 5 and 4`);
  const five = plan.migrations.find((migration) => migration.version === '5');
  if (
    !five?.revertWarnings.some(
      (warning) => warning.kind === 'data-loss' && warning.message.includes('drops column projects.archived'),
    )
  ) {
    problems.push("the approved plan does not show 5's data-loss finding (reverting drops projects.archived)");
  }
  if (
    plan.strategy !== 'down-migrations' ||
    !plan.verdict.startsWith('Revert 2 migration(s) (5, 4)') ||
    !plan.verdict.includes('reverting drops projects.archived')
  ) {
    problems.push(`the plan's strategy and verdict do not follow from 5 and 4: ${plan.strategy}: ${plan.verdict}`);
  }
  if (!applied) problems.push('apply-down-migrations did not run');
  else {
    if (applied.digest !== plan.digest)
      problems.push(`apply-down-migrations ran ${applied.digest}, not the approved ${plan.digest}`);
    const expected = `(schema ${applied.initialVersion} → ${applied.finalVersion})`;
    if (!rollback.reportDatabaseRow.includes(expected))
      problems.push(
        `the report's database row "${rollback.reportDatabaseRow}" does not say ${expected}, apply-down-migrations' own versions`,
      );
  }
  return problems;
}

/** Jobs that ended failed or cancelled (a failed continue-on-error job included), nested calls included, as "Workflow / job" paths. */
export function failedJobs(run: WorkflowRun, prefix = run.name): string[] {
  const failed: string[] = run.startupFailure ? [`${prefix}: ${run.startupFailure}`] : [];
  for (const [id, job] of Object.entries(run.jobs)) {
    const where = `${prefix} / ${id}`;
    if (job.called) failed.push(...failedJobs(job.called, where));
    else if (job.outcome === 'failure' || job.outcome === 'cancelled') failed.push(where);
  }
  return failed;
}

/** sha256 of the backup file inside a stored artifact zip (the dump itself, not its metadata). */
async function artifactDumpChecksum(artifacts: ArtifactService, name: string, dir: string): Promise<string> {
  const record = artifacts.find(name);
  if (!record) throw new Error(`artifact ${name} was not uploaded`);
  const target = path.join(dir, `${name}-unzipped`);
  mkdirSync(target, { recursive: true });
  await runProcess('unzip', ['-q', '-o', artifacts.storedFile(record.id), '-d', target]);
  return await sha256File((await locateBackup(target)).backupPath);
}

/** What a rollback.yml run did, checked against the world (engine, app, database, stored artifact). */
export async function recordRollback(
  world: DemoWorld,
  rollback: WorkflowRun,
  detectedAt: number,
  scratch: string,
): Promise<RollbackRecord> {
  const healthy = step(rollback.jobs.rollback, 'Healthy');
  const artifactName = rollback.outputs['backup-artifact'] ?? '';
  const planOutputs = rollback.jobs.plan.outputs;
  const down = step(rollback.jobs.rollback, 'Revert migrations');
  return {
    run: rollback,
    plan: {
      verdict: planOutputs.verdict ?? '',
      strategy: planOutputs.strategy ?? '',
      reasons: JSON.parse(
        rollback.jobs.plan.steps.find((candidate) => candidate.id === 'target')?.outputs.reasons || '[]',
      ) as string[],
      digest: planOutputs['plan-digest'] ?? '',
      migrations: JSON.parse(planOutputs.migrations || '[]') as ApprovedPlan['migrations'],
    },
    applied:
      down && down.outcome === 'success'
        ? {
            initialVersion: down.outputs['initial-version'],
            finalVersion: down.outputs['final-version'],
            digest: down.outputs['plan-digest'],
          }
        : undefined,
    reportDatabaseRow: rollback.jobs.report?.summary.split('\n').find((line) => line.startsWith('| Database |')) ?? '',
    detectionToHealthyMs: healthy && healthy.outcome === 'success' ? healthy.startedAt - detectedAt : Number.NaN,
    reportedSeconds: rollback.outputs['detection-to-healthy-seconds'] ?? '',
    downtimeSeconds: rollback.outputs['downtime-seconds'] ?? '',
    strategy: rollback.outputs.strategy ?? '',
    outcome: rollback.outputs.outcome ?? '',
    backup: {
      artifactName,
      checksum: rollback.outputs['backup-checksum'] ?? '',
      artifactChecksum: artifactName ? await artifactDumpChecksum(world.artifacts, artifactName, scratch) : '',
    },
    state: await world.appState(),
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { log, root } = options;
  const world = await createDemoWorld({
    root,
    log,
    drill: options.drill,
    jobStartLatencyMs: options.jobStartLatencyMs,
    platform: options.platform,
  });
  try {
    options.prepare?.(world);
    const runs: StoryRun[] = [];
    const deploys: Record<string, WorkflowRun> = {};
    const timelines: string[] = [];
    for (const tag of ['v1.1.0', 'v1.2.0', 'v1.3.0']) {
      log(`\n=== deploy ${tag} (the app's deploy pipeline: backup, migrate up, redeploy, smoke test) ===`);
      deploys[tag] = await world.run('deploy.yml', { tag, environment: ENVIRONMENT });
      runs.push({
        label: `deploy ${tag}`,
        run: deploys[tag],
        expectedFailures: tag === 'v1.3.0' ? ['Deploy / deploy'] : [],
      });
      const state = await world.appState();
      log(
        `=== deploy ${tag}: ${deploys[tag].conclusion}; running ${state.runningTag}, /health ${state.healthStatus} ${state.healthVersion}, schema ${state.schemaVersion}`,
      );
    }

    const failedDeploy = deploys['v1.3.0'];
    const smoke = step(failedDeploy.jobs.deploy, 'Smoke test');
    if (!smoke || smoke.outcome !== 'failure')
      throw new Error(
        `the v1.3.0 deploy's smoke test did not fail (${smoke?.outcome ?? 'did not run'}): the demo's premise is broken`,
      );
    const detectedAt = smoke.startedAt + smoke.durationMs;
    const automatic = await recordRollback(world, findCalled(failedDeploy, 'rollback', 'rollback'), detectedAt, root);
    timelines.push(...timeline(failedDeploy, failedDeploy.startedAt));

    let drill: WorkflowRun | undefined;
    if (options.drill) {
      log('\n=== the monthly rollback drill (rollback-drill.yml, on a throwaway copy) ===');
      drill = await world.run('rollback-drill.yml', { environment: ENVIRONMENT }, { suite: true });
      runs.push({ label: 'rollback drill', run: drill, expectedFailures: [] });
    }
    if (options.extra) await options.extra(world);

    let manual: RollbackRecord | undefined;
    if (options.manualRollbackTo) {
      log(`\n=== on-call: "Run workflow" on Rollback, target ${options.manualRollbackTo} ===`);
      const pressedAt = Date.now();
      const caller = await world.run('rollback.yml', {
        environment: ENVIRONMENT,
        'target-tag': options.manualRollbackTo,
        reason: 'Drill: back to the release before the title rename',
      });
      runs.push({ label: `manual rollback to ${options.manualRollbackTo}`, run: caller, expectedFailures: [] });
      manual = await recordRollback(world, findCalled(caller, 'rollback'), pressedAt, root);
      timelines.push('', ...timeline(caller, pressedAt));
    }
    return { deploys, automatic, manual, drill, runs, notifications: world.notifications, timelines };
  } finally {
    await world.stop();
  }
}

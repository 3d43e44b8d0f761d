import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCalled, runDemo, type DemoResult } from '../../scripts/demo/scenario.js';
import { runProcess } from '../../shared/process.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';

/**
 * The demo story with the app as a Docker Swarm stack (ROLLBACK_REDEPLOY_STRATEGY swarm,
 * ROLLBACK_STACK) on the test engine, a single-node swarm manager: the example deploy pipeline
 * deploys with docker stack deploy, the failed v1.3.0 is rolled back by auto-rollback.yml ->
 * rollback.yml with strategy swarm, the drill checks the last known good image on the swarm's
 * nodes (redeploy-tag verify-only), and the manual rollback goes back to v1.1.0 with its down
 * migrations. The state is read from the swarm (running tasks' image) and the app's /health.
 */
function jobResults(run: WorkflowRun): Record<string, string> {
  return Object.fromEntries(Object.entries(run.jobs).map(([id, job]) => [id, job.result]));
}

const SWARM_CHECK = "still on the swarm's nodes?";

/** How many containers of a swarm service run, looked at again and again until stopped: the timeline of the manual rollback. */
function sampleRunningContainers(service: string, env: Record<string, string>) {
  const samples: { at: number; running: number }[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const { stdout } = await runProcess(
        'docker',
        ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`, '--filter', 'status=running'],
        { env },
      );
      samples.push({ at: Date.now(), running: stdout.split('\n').filter(Boolean).length });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

describe('the rollback and drill workflows with strategy swarm', () => {
  let result: DemoResult;
  let prunedDrill: WorkflowRun;
  let swarmCurrent: WorkflowRun;
  let sampler: ReturnType<typeof sampleRunningContainers> | undefined;
  let appService = '';
  const lines: string[] = [];

  beforeAll(async () => {
    result = await runDemo({
      root: mkdtempSync(path.join(os.tmpdir(), 'demo-swarm-')),
      log: (line) => lines.push(line),
      manualRollbackTo: 'v1.1.0',
      drill: true,
      platform: 'swarm',
      extra: async (world) => {
        // The same stack file, its image one whose v1.1.0 was pruned: the drill must catch it.
        const pruned = path.join(world.deployHost, 'stack-pruned.yml');
        copyFileSync(path.join(world.deployHost, 'stack.yml'), pruned);
        writeFileSync(
          pruned,
          readFileSync(pruned, 'utf8').replace(/image: [^:\s]+:/, 'image: localhost/pruned-image:'),
        );
        // The drill's own inputs choose the swarm check (the variables say compose here).
        const stack = world.project;
        prunedDrill = await world.run(
          'rollback-drill.yml',
          { environment: 'production', 'redeploy-strategy': 'swarm', stack },
          {
            suite: true,
            vars: {
              ROLLBACK_REDEPLOY_STRATEGY: '',
              ROLLBACK_STACK: '',
              ROLLBACK_COMPOSE_FILE: 'stack-pruned.yml',
              ROLLBACK_IMAGE: 'localhost/pruned-image',
            },
          },
        );
        // An environment without deployments: the current release is read from the swarm service.
        const caller = await world.run(
          'rollback.yml',
          { environment: 'staging', 'target-tag': 'v1.1.0', 'dry-run': true },
          {
            environments: {
              staging: { secrets: { DATABASE_URL: world.database.url } },
              'staging-plan': { secrets: { DATABASE_URL: world.readerUrl } },
            },
          },
        );
        swarmCurrent = findCalled(caller, 'rollback');
        // From here on, the manual rollback: its app containers are counted all along.
        appService = `${world.project}_app`;
        sampler = sampleRunningContainers(appService, world.engineEnv);
      },
    });
  }, 900_000);

  afterAll(async () => {
    await sampler?.stop();
  });

  it('deploys v1.1.0 and v1.2.0 as a stack with the example pipeline, each marked successful after its smoke test', () => {
    for (const tag of ['v1.1.0', 'v1.2.0']) {
      expect({ tag, jobs: jobResults(result.deploys[tag]) }).toEqual({
        tag,
        jobs: { deploy: 'success', rollback: 'skipped' },
      });
      const redeploy = result.deploys[tag].jobs.deploy.steps.find((step) => step.name.startsWith('Redeploy'));
      expect(redeploy?.outputs.outcome).toBe('deployed');
    }
    expect(lines.join('\n')).toMatch(/docker stack deploy .*rollback-demo-/);
  });

  it('rolls the failed v1.3.0 back to v1.2.0 through rollback.yml with strategy swarm, image only, the task running and /health answering v1.2.0', () => {
    expect(jobResults(result.deploys['v1.3.0'])).toEqual({ deploy: 'failure', rollback: 'success' });
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
    });
    expect(automatic.run.jobs.plan.outputs).toMatchObject({
      'redeploy-strategy': 'swarm',
      'compose-file': 'stack.yml',
    });
    const redeploy = automatic.run.jobs.rollback.steps.find((step) => step.name.startsWith('Redeploy'));
    expect(redeploy?.outputs).toMatchObject({ outcome: 'deployed', 'previous-tag': 'v1.3.0', 'new-tag': 'v1.2.0' });
    expect(JSON.parse(redeploy!.outputs['services-json'])).toMatchObject([
      {
        service: expect.stringMatching(/_app$/),
        health: expect.stringContaining('1/1 task(s) running localhost/rollback-demo-app:v1.2.0'),
        replicas: { desired: 1, running: 1 },
        failedTasks: [],
      },
    ]);
    expect(automatic.state).toEqual({
      runningTag: 'v1.2.0',
      healthStatus: 200,
      healthVersion: 'v1.2.0',
      schemaVersion: 5,
    });
  });

  it("runs the drill with the image checked on the swarm's nodes, and fails it when the image is gone", () => {
    const drill = result.drill!;
    expect(jobResults(drill)).toEqual({ database: 'success', image: 'success', staging: 'skipped', report: 'success' });
    expect(drill.jobs.image.steps.find((step) => step.name.endsWith(SWARM_CHECK))?.outputs.outcome).toBe('verified');
    expect(drill.jobs.image.steps.find((step) => step.name.endsWith('still there?'))?.outcome).toBe('skipped');
    const matrix = JSON.parse(drill.outputs.matrix) as { scenario: string; result: string; details: string }[];
    expect(matrix.at(-1)).toMatchObject({
      scenario: 'Image localhost/rollback-demo-app:v1.1.0 available on the target',
      result: 'passed',
    });

    expect(jobResults(prunedDrill)).toEqual({
      database: 'success',
      image: 'failure',
      staging: 'skipped',
      report: 'success',
    });
    const check = prunedDrill.jobs.image.steps.find((step) => step.name.endsWith(SWARM_CHECK));
    expect({ outcome: check?.outputs.outcome, errors: check?.errors.join('\n') }).toEqual({
      outcome: 'refused',
      errors: expect.stringContaining('localhost/pruned-image:v1.1.0'),
    });
    const prunedMatrix = JSON.parse(prunedDrill.outputs.matrix) as {
      scenario: string;
      result: string;
      details: string;
    }[];
    expect(prunedMatrix.at(-1)).toMatchObject({
      scenario: 'Image localhost/pruned-image:v1.1.0 available on the target',
      result: 'failed',
    });
    expect(prunedMatrix.at(-1)?.details).toContain('missing on a swarm node');
  });

  it('reads the current release from the swarm service when the environment has no deployments (dry run)', () => {
    const settings = swarmCurrent.jobs.plan.steps.find((step) => step.name === 'Resolve settings');
    expect(settings?.outputs['current-swarm-service']).toMatch(/^rollback-demo-.*_app$/);
    expect(swarmCurrent.jobs.plan.result).toBe('success');
    expect(swarmCurrent.jobs.plan.outputs).toMatchObject({
      'current-tag': 'v1.2.0',
      'target-tag': 'v1.1.0',
      strategy: 'down-migrations',
    });
  });

  it('rolls back by hand to v1.1.0 with the down migrations, the app scaled to 0 during the revert and back at its recorded replicas at v1.1.0', async () => {
    await sampler!.stop();
    const manual = result.manual!;
    expect(manual.run.outputs).toMatchObject({
      'current-tag': 'v1.2.0',
      'target-tag': 'v1.1.0',
      strategy: 'down-migrations',
      outcome: 'rolled-back',
    });
    const steps = Object.fromEntries(manual.run.jobs.rollback.steps.map((step) => [step.name, step.outcome]));
    expect(steps).toMatchObject({ 'Stop the app': 'success', 'Revert migrations': 'success' });
    const byName = Object.fromEntries(manual.run.jobs.rollback.steps.map((step) => [step.name, step]));
    expect(JSON.parse(byName['Stop the app'].outputs.replicas)).toEqual({ [appService]: 1 });

    // The timeline: a container ran before the stop, none from the end of the stop step until the
    // down migrations had ended (looked at while they ran), and one again after the redeploy.
    const stop = byName['Stop the app'];
    const down = byName['Revert migrations'];
    const during = sampler!.samples.filter(
      (sample) => sample.at >= stop.startedAt + stop.durationMs && sample.at <= down.startedAt + down.durationMs,
    );
    const whileReverting = during.filter((sample) => sample.at >= down.startedAt);
    expect(whileReverting.length).toBeGreaterThan(0);
    expect(during.filter((sample) => sample.running > 0)).toEqual([]);
    expect(sampler!.samples.some((sample) => sample.at < stop.startedAt && sample.running === 1)).toBe(true);

    const redeploy = manual.run.jobs.rollback.steps.find((step) => step.name.startsWith('Redeploy'))!;
    expect(redeploy.outputs).toMatchObject({ outcome: 'deployed', 'previous-tag': 'v1.2.0', 'new-tag': 'v1.1.0' });
    expect(JSON.parse(redeploy.outputs['services-json'])).toMatchObject([
      { service: appService, replicas: { desired: 1, running: 1 }, failedTasks: [] },
    ]);
    const smoke = manual.run.jobs.rollback.steps.find((step) => step.name.startsWith('Smoke test'))!;
    const afterRedeploy = sampler!.samples.filter(
      (sample) =>
        sample.at >= redeploy.startedAt + redeploy.durationMs && sample.at <= smoke.startedAt + smoke.durationMs,
    );
    expect(afterRedeploy.length).toBeGreaterThan(0);
    expect(afterRedeploy.every((sample) => sample.running === 1)).toBe(true);
    expect(manual.state).toEqual({
      runningTag: 'v1.1.0',
      healthStatus: 200,
      healthVersion: 'v1.1.0',
      schemaVersion: 3,
    });
  });
});

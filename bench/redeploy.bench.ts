import os from 'node:os';
import { runProcess } from '../shared/process.js';
import { runAction } from '../testkit/action-harness.js';
import { createTestDatabase } from '../testkit/database.js';
import { dockerEnv } from '../testkit/demo-app.js';
import { createComposeProject, projectInputs, type ComposeProject } from '../testkit/compose-project.js';
import { median, timed, type Benchmark } from './types.js';

/**
 * redeploy-tag from the start of the step until the service is up, against what a runbook does by
 * hand on the same project in the same run: `docker-compose up -d --no-deps api` and a curl loop
 * until /health answers. Every deploy switches between v1.1.0 and v1.2.0, so each recreates the
 * container, and the two ways interleave (taking turns going first) so load hits both alike.
 *
 * Two projects: one without a compose healthcheck, where both ways wait for the same signal
 * (/health 2xx; the action also checks the container runs the new image and stayed up), which the
 * 1.1x target applies to; and one with a healthcheck, where the action also waits for the engine
 * to report healthy, which the curl loop never does (reported, not judged: the engine's healthcheck
 * interval, 1s here, decides that difference).
 */
const ROUNDS = 11;

function loadAverage(): string {
  return os.loadavg()[0].toFixed(2);
}
const TAGS = ['v1.1.0', 'v1.2.0'];

async function bareRedeploy(project: ComposeProject, tag: string): Promise<number> {
  const { ms } = await timed(async () => {
    await runProcess('docker-compose', ['-f', project.file, '-p', project.name, 'up', '-d', '--no-deps', 'api'], {
      cwd: project.dir,
      env: { ...dockerEnv(), IMAGE_TAG: tag },
    });
    for (;;) {
      const curl = await runProcess('curl', ['-sf', '-o', '/dev/null', `${project.baseUrl}/health`], {
        okExitCodes: [0, 7, 22, 52, 56],
      });
      if (curl.exitCode === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  const { body } = await project.health();
  if (body.version !== tag) throw new Error(`bare redeploy: expected ${tag}, /health says ${body.version}`);
  return ms;
}

async function actionRedeploy(project: ComposeProject, tag: string): Promise<number> {
  const result = await runAction('redeploy-tag', {
    inputs: projectInputs(project, { tag, 'ready-url': `${project.baseUrl}/health` }),
    env: dockerEnv(),
  });
  if (result.exitCode !== 0)
    throw new Error(`redeploy-tag to ${tag} failed: ${result.errors.join('\n')}\n${result.log}`);
  if (result.outputs.outcome !== 'deployed')
    throw new Error(`redeploy-tag to ${tag}: outcome ${result.outputs.outcome}, not a redeploy`);
  const { body } = await project.health();
  if (body.version !== tag) throw new Error(`redeploy-tag: expected ${tag}, /health says ${body.version}`);
  return result.durationMs;
}

async function measure(
  project: ComposeProject,
  log: (line: string) => void,
  label: string,
): Promise<{ bare: number[]; action: number[] }> {
  await project.up(TAGS[1]);
  // Warm-up, not counted: first runs load compose's Python modules and node's bundle from disk.
  await bareRedeploy(project, TAGS[0]);
  await actionRedeploy(project, TAGS[1]);
  const bare: number[] = [];
  const action: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Each round goes v1.2.0 -> v1.1.0 -> v1.2.0, so every deploy replaces what runs; which way goes first alternates.
    const [first, second] = TAGS;
    if (round % 2 === 0) {
      bare.push(await bareRedeploy(project, first));
      action.push(await actionRedeploy(project, second));
    } else {
      action.push(await actionRedeploy(project, first));
      bare.push(await bareRedeploy(project, second));
    }
    log(
      `${label} round ${round + 1}: bare ${bare.at(-1)!.toFixed(0)} ms, redeploy-tag ${action.at(-1)!.toFixed(0)} ms`,
    );
  }
  return { bare, action };
}

const benchmark: Benchmark = {
  name: 'redeploy',
  description: `redeploy-tag start-to-healthy vs bare docker-compose up -d + curl loop, same project, median of ${ROUNDS} interleaved rounds`,
  async run(log) {
    // Every harness run registers an exit hook that removes its temp files; 26 runs pass node's default of 10.
    process.setMaxListeners(Math.max(process.getMaxListeners(), 100));
    const loadAtStart = loadAverage();
    const database = await createTestDatabase('bench_redeploy');
    const plain = await createComposeProject({ databaseUrl: database.url, healthcheck: false });
    const checked = await createComposeProject({ databaseUrl: database.url, healthcheck: true });
    try {
      const same = await measure(plain, log, 'no healthcheck');
      const health = await measure(checked, log, 'healthcheck');
      const ratio = median(same.action) / median(same.bare);
      const healthRatio = median(health.action) / median(health.bare);
      return {
        metrics: [
          { name: 'bare up -d + curl loop (no healthcheck)', value: median(same.bare), unit: 'ms' },
          { name: 'redeploy-tag to healthy (no healthcheck, ready-url)', value: median(same.action), unit: 'ms' },
          { name: 'overhead ratio (no healthcheck)', value: ratio, unit: 'x' },
          { name: 'bare up -d + curl loop (healthcheck project)', value: median(health.bare), unit: 'ms' },
          { name: 'redeploy-tag to engine-healthy (healthcheck project)', value: median(health.action), unit: 'ms' },
          { name: 'overhead ratio (healthcheck project)', value: healthRatio, unit: 'x' },
        ],
        targets: [
          {
            description: 'redeploy-tag <= 1.1x bare up -d + curl loop (same readiness signal)',
            met: ratio <= 1.1,
            actual: `${ratio.toFixed(2)}x`,
          },
        ],
        notes: [
          `all rounds, ms: bare ${same.bare.map((ms) => ms.toFixed(0)).join(', ')}; redeploy-tag ${same.action.map((ms) => ms.toFixed(0)).join(', ')}`,
          `healthcheck project, ms: bare ${health.bare.map((ms) => ms.toFixed(0)).join(', ')}; redeploy-tag ${health.action.map((ms) => ms.toFixed(0)).join(', ')}`,
          `load average (1 min) at the start ${loadAtStart}, at the end ${loadAverage()}: the machine is shared, and a second of fixed overhead weighs less as load stretches every compose run`,
          `with a compose healthcheck redeploy-tag also waits for the engine to report healthy (${healthRatio.toFixed(2)}x): the curl loop never waits for that; the engine's check interval (1s here) sets the gap`,
        ],
      };
    } finally {
      await plain.remove();
      await checked.remove();
      await database.drop();
    }
  },
};
export default benchmark;

import { runProcess } from '../shared/process.js';
import { runAction } from '../testkit/action-harness.js';
import { createTestDatabase } from '../testkit/database.js';
import { demoImage, dockerEnv } from '../testkit/demo-app.js';
import { createSwarmStack, type SwarmStack } from '../testkit/swarm-stack.js';
import { median, timed, type Benchmark } from './types.js';

/**
 * redeploy-tag strategy swarm, from the start of the step until the update completed with every
 * task running the new image (healthy), against what a runbook does by hand on the same service
 * in the same run: `docker service update --image <image>:<tag> <service>`, which waits for the
 * service to converge (the CLI's own progress, including the update's monitor period), then a
 * loop until the update state says completed. Every update switches between v1.1.0 and v1.2.0, so
 * each replaces the task, and the two ways interleave (taking turns going first) so load hits both alike.
 */
const ROUNDS = 11;
const TAGS = ['v1.1.0', 'v1.2.0'];

async function updateState(service: string): Promise<string> {
  const { stdout } = await runProcess(
    'docker',
    ['service', 'inspect', '--format', '{{.UpdateStatus.State}}', service],
    { env: dockerEnv() },
  );
  return stdout.trim();
}

async function bareUpdate(stack: SwarmStack, service: string, tag: string): Promise<number> {
  const { ms } = await timed(async () => {
    await runProcess('docker', ['service', 'update', '--quiet', '--detach=false', '--image', demoImage(tag), service], {
      env: dockerEnv(),
      timeoutMs: 300_000,
    });
    while ((await updateState(service)) !== 'completed') await new Promise((resolve) => setTimeout(resolve, 50));
  });
  const health = await stack.health();
  if (health.version !== tag) throw new Error(`bare update: expected ${tag}, /health says ${health.version}`);
  return ms;
}

async function actionUpdate(stack: SwarmStack, service: string, tag: string): Promise<number> {
  const result = await runAction('redeploy-tag', {
    inputs: { strategy: 'swarm', services: service, tag, 'health-timeout': '120s' },
    env: dockerEnv(),
  });
  if (result.exitCode !== 0)
    throw new Error(`redeploy-tag to ${tag} failed: ${result.errors.join('\n')}\n${result.log}`);
  if (result.outputs.outcome !== 'deployed')
    throw new Error(`redeploy-tag to ${tag}: outcome ${result.outputs.outcome}, not an update`);
  if ((await updateState(service)) !== 'completed')
    throw new Error(`redeploy-tag to ${tag} returned before the update completed`);
  const health = await stack.health();
  if (health.version !== tag) throw new Error(`redeploy-tag: expected ${tag}, /health says ${health.version}`);
  return result.durationMs;
}

const benchmark: Benchmark = {
  name: 'redeploy-swarm',
  description: `redeploy-tag strategy swarm start-to-converged vs bare docker service update --image + wait for completed, same service, median of ${ROUNDS} interleaved rounds`,
  async run(log) {
    process.setMaxListeners(Math.max(process.getMaxListeners(), 100));
    const database = await createTestDatabase('bench_redeploy_swarm');
    const stack = await createSwarmStack({ databaseUrl: database.url });
    const service = `${stack.name}_api`;
    try {
      await stack.deploy(TAGS[1]);
      // Warm-up, not counted: the first runs load the CLI and node's bundle from disk.
      await bareUpdate(stack, service, TAGS[0]);
      await actionUpdate(stack, service, TAGS[1]);
      const bare: number[] = [];
      const action: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Each round goes v1.2.0 -> v1.1.0 -> v1.2.0, so every deploy replaces what runs; which way goes first alternates.
        const [first, second] = TAGS;
        if (round % 2 === 0) {
          bare.push(await bareUpdate(stack, service, first));
          action.push(await actionUpdate(stack, service, second));
        } else {
          action.push(await actionUpdate(stack, service, first));
          bare.push(await bareUpdate(stack, service, second));
        }
        log(`round ${round + 1}: bare ${bare.at(-1)!.toFixed(0)} ms, redeploy-tag ${action.at(-1)!.toFixed(0)} ms`);
      }
      const ratio = median(action) / median(bare);
      return {
        metrics: [
          { name: 'bare docker service update --image + wait for completed', value: median(bare), unit: 'ms' },
          { name: 'redeploy-tag swarm to completed and healthy', value: median(action), unit: 'ms' },
          { name: 'overhead ratio', value: ratio, unit: 'x' },
        ],
        targets: [
          {
            description: 'redeploy-tag swarm <= 1.1x bare docker service update + wait for convergence',
            met: ratio <= 1.1,
            actual: `${ratio.toFixed(2)}x`,
          },
        ],
        notes: [
          `all rounds, ms: bare ${bare.map((ms) => ms.toFixed(0)).join(', ')}; redeploy-tag ${action.map((ms) => ms.toFixed(0)).join(', ')}`,
        ],
      };
    } finally {
      await stack.remove();
      await database.drop();
    }
  },
};
export default benchmark;

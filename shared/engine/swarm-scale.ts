import { ActionError, InputError } from '../errors.js';
import { ProcessError } from '../process.js';
import type { HostExecutor } from './executor.js';
import { inspectServices, serviceTasks, type SwarmService } from './swarm.js';
import { SwarmWatcher, type SwarmServiceStatus } from './swarm-watch.js';

/**
 * Stopping swarm services for a database change: each replicated service is scaled to 0 replicas
 * and watched until none of its tasks is left running, so the release that ran writes nothing into
 * a schema being reverted. The replica counts are recorded (service name -> replicas), and the
 * redeploy (redeploy-tag's `replicas` input) or a start after a failed database step scales each
 * back to exactly that count.
 *
 * Global services have no replica count to set to 0 (their mode cannot change without recreating
 * them), and jobs are not long-running; both are refused by name before any service is touched.
 */
export type ReplicaCounts = Record<string, number>;

/** Task states in which the task's container still runs, or is about to. */
const LIVE_TASK_STATES = new Set([
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
]);

function refuseUnscalable(services: readonly SwarmService[]): void {
  const unscalable = services.filter((service) => service.mode !== 'replicated');
  if (unscalable.length === 0) return;
  throw new ActionError(
    `${unscalable.map((service) => `${service.name} (${service.mode})`).join(', ')} cannot be stopped by scaling to 0 replicas: only replicated services have a replica count. Nothing was changed.`,
    {
      hint: 'Leave global services out of services (they keep running during the database change), or deploy them in replicated mode.',
    },
  );
}

/** The named services, refusing names the swarm does not have. */
async function existingServices(executor: HostExecutor, names: readonly string[]): Promise<SwarmService[]> {
  const found = await inspectServices(executor, names);
  const missing = names.filter((name) => !found.some((service) => service.name === name));
  if (missing.length > 0)
    throw new InputError(
      'services',
      `names ${missing.map((name) => `"${name}"`).join(', ')}, which the swarm on ${executor.description} does not have: nothing was stopped.`,
    );
  return names.map((name) => found.find((service) => service.name === name)!);
}

async function scale(executor: HostExecutor, counts: ReplicaCounts): Promise<void> {
  const args = ['service', 'scale', '--detach', ...Object.entries(counts).map(([name, n]) => `${name}=${n}`)];
  try {
    await executor.run('docker', args, { timeoutMs: 120_000 });
  } catch (error) {
    if (error instanceof ProcessError)
      throw new ActionError(
        `docker service scale failed on ${executor.description}:\n${(error.result.stderr || error.result.stdout).trim()}`,
      );
    throw error;
  }
}

async function liveTasks(executor: HostExecutor, services: readonly SwarmService[]): Promise<Map<string, number>> {
  const tasks = await serviceTasks(
    executor,
    services.map((service) => service.id),
  );
  return new Map(
    services.map((service) => [
      service.name,
      tasks.filter((task) => task.serviceId === service.id && LIVE_TASK_STATES.has(task.state)).length,
    ]),
  );
}

/**
 * Scales each service to 0 and waits until no task of it is live (its containers stopped).
 * Returns the replica counts it had, for the redeploy to restore.
 */
export async function stopSwarmServices(
  executor: HostExecutor,
  names: readonly string[],
  options: { timeoutMs: number; pollMs?: number; onLine?: (line: string) => void },
): Promise<ReplicaCounts> {
  const services = await existingServices(executor, names);
  refuseUnscalable(services);
  const recorded: ReplicaCounts = Object.fromEntries(services.map((service) => [service.name, service.replicas!]));
  options.onLine?.(
    `Recorded replicas: ${Object.entries(recorded)
      .map(([name, n]) => `${name}=${n}`)
      .join(', ')}; scaling to 0.`,
  );
  await scale(executor, Object.fromEntries(services.map((service) => [service.name, 0])));
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const live = await liveTasks(executor, services);
    const left = [...live].filter(([, count]) => count > 0);
    if (left.length === 0) return recorded;
    if (Date.now() > deadline)
      throw new ActionError(
        `The tasks of ${left.map(([name, count]) => `${name} (${count} left)`).join(', ')} did not stop within ${Math.round(options.timeoutMs / 1000)}s after scaling to 0.`,
        { hint: 'docker service ps shows the tasks; a task that ignores SIGTERM runs until its stop_grace_period.' },
      );
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
}

/** Parses recorded counts ({"stack_api": 2}) given as an input. */
export function parseReplicaCounts(input: string, value: unknown): ReplicaCounts {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InputError(input, 'must be a JSON object of swarm service name -> replica count, e.g. {"shop_api": 2}.');
  for (const [name, count] of Object.entries(value)) {
    if (!Number.isInteger(count) || (count as number) < 0)
      throw new InputError(
        input,
        `gives ${name} ${JSON.stringify(count)} replicas; a count is a whole number, 0 or more.`,
      );
  }
  return value as ReplicaCounts;
}

/**
 * Scales the services back to their recorded counts (at the image they have now) and waits until
 * every task runs and, with a healthcheck, is healthy.
 */
export async function startSwarmServices(
  executor: HostExecutor,
  counts: ReplicaCounts,
  options: { timeoutMs: number; onLine?: (line: string) => void },
): Promise<SwarmServiceStatus[]> {
  const services = await existingServices(executor, Object.keys(counts));
  const known = new Set(
    (
      await serviceTasks(
        executor,
        services.map((service) => service.id),
      )
    ).map((task) => task.id),
  );
  await scale(executor, counts);
  const watcher = new SwarmWatcher(
    executor,
    services.map((service) => ({
      serviceId: service.id,
      name: service.name,
      image: service.image,
      knownTaskIds: known,
    })),
  );
  const waited = await watcher.waitUntilConverged(Date.now() + options.timeoutMs, {
    onProgress: (statuses) => statuses.forEach((status) => options.onLine?.(`  ${status.name}: ${status.detail}`)),
  });
  if (!waited.ok)
    throw new ActionError(
      `Scaling back to ${Object.entries(counts)
        .map(([name, n]) => `${name}=${n}`)
        .join(', ')} did not converge: ${waited.statuses
        .filter((status) => status.state !== 'ready')
        .map((status) => `${status.name}: ${status.detail}`)
        .join('; ')}`,
    );
  return waited.statuses;
}

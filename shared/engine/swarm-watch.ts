import type { HostExecutor } from './executor.js';
import type { ProbeResult } from './wait.js';
import {
  FAILED_TASK_STATES,
  sameImage,
  servicesWithTasks,
  taskFailure,
  type SwarmService,
  type SwarmTask,
  type SwarmUpdateStatus,
} from './swarm.js';

/**
 * Watches swarm services until a change has converged: the update the change started has ended
 * `completed` (or, for a rollback, `rollback_completed`), and every task the service should run
 * runs the expected image and is `running`. Swarm's executor holds a task in `starting` until its
 * healthcheck passes and ends it when the check fails, so `running` means healthy for a service
 * with a healthcheck. A definite failure ends the wait at once: the update paused or rolled back,
 * or a task of this change failed, was rejected, or exited.
 */
export interface SwarmGoal {
  serviceId: string;
  name: string;
  /** The image every task must run at the end. */
  image: string;
  /** The change replaces tasks: an update (or rollback) newer than `after` must end completed. */
  expect?: { kind: 'update' | 'rollback'; after?: string };
  /** Tasks that existed before the change: how they ended is not this change's doing. */
  knownTaskIds: ReadonlySet<string>;
}

export type SwarmServiceState = 'ready' | 'progressing' | 'failed';

export interface SwarmServiceStatus {
  name: string;
  state: SwarmServiceState;
  /** For people: "2/2 tasks running v1.1.0, update completed", "update paused: ...". */
  detail: string;
  desired: number;
  running: number;
  /** The tasks the service should run now (desired state running). */
  tasks: SwarmTask[];
  /** Tasks of this change that failed, were rejected or exited. */
  failedTasks: SwarmTask[];
  update?: SwarmUpdateStatus;
  /** The swarm rolled the update back by itself (update_config failure_action: rollback). */
  rolledBackBySwarm: boolean;
  service?: SwarmService;
}

export interface SwarmWaitResult {
  ok: boolean;
  timedOut: boolean;
  statuses: SwarmServiceStatus[];
  probe?: ProbeResult;
}

const shortId = (id: string) => id.slice(0, 12);

export function describeTask(task: SwarmTask, nodeName?: (id: string) => string): string {
  return `task ${shortId(task.id)}${task.nodeId ? ` on ${nodeName?.(task.nodeId) ?? shortId(task.nodeId)}` : ''}`;
}

export interface JudgeOptions {
  nodeName?: (id: string) => string;
  /**
   * How long the watcher has seen a task running. Without it (unit tests of other rules), every
   * running task counts as having run long enough.
   */
  runningForMs?: (task: SwarmTask) => number;
}

/** One service's state in one look; exported for unit tests. */
export function judgeService(
  goal: SwarmGoal,
  service: SwarmService | undefined,
  allTasks: readonly SwarmTask[],
  options: JudgeOptions = {},
): SwarmServiceStatus {
  const { nodeName } = options;
  const base = {
    name: goal.name,
    desired: 0,
    running: 0,
    tasks: [] as SwarmTask[],
    failedTasks: [] as SwarmTask[],
    rolledBackBySwarm: false,
  };
  if (!service) return { ...base, state: 'failed', detail: `service ${goal.name} no longer exists` };
  const tasks = allTasks.filter((task) => task.serviceId === service.id);
  const current = tasks.filter((task) => task.desiredState === 'running');
  const running = current.filter((task) => task.state === 'running' && sameImage(task.image, goal.image));
  const failedTasks = tasks
    .filter(
      (task) =>
        !goal.knownTaskIds.has(task.id) && sameImage(task.image, goal.image) && FAILED_TASK_STATES.includes(task.state),
    )
    .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
  const desired = service.replicas ?? current.length;
  const update = service.update;
  const fresh = goal.expect && update && update.startedAt !== goal.expect.after ? update : undefined;
  const status = { ...base, desired, running: running.length, tasks: current, failedTasks, update: fresh, service };
  const tag = goal.image.split('@')[0];

  if (fresh && ['paused', 'rollback_paused'].includes(fresh.state))
    return {
      ...status,
      state: 'failed',
      detail: `${fresh.state === 'paused' ? 'update' : 'rollback'} paused: ${fresh.message ?? 'no message'}`,
    };
  if (goal.expect?.kind === 'update' && fresh && fresh.state.startsWith('rollback_')) {
    return {
      ...status,
      state: 'failed',
      rolledBackBySwarm: true,
      detail: `the swarm rolled the update back itself (${fresh.state}: ${fresh.message ?? 'no message'})`,
    };
  }
  if (failedTasks.length > 0) {
    const task = failedTasks[0];
    return {
      ...status,
      state: 'failed',
      detail: `${describeTask(task, nodeName)} ${task.state === 'rejected' ? 'was rejected' : 'failed'}: ${taskFailure(task)}`,
    };
  }
  const doneState = goal.expect?.kind === 'rollback' ? 'rollback_completed' : 'completed';
  const updateDone = !goal.expect || fresh?.state === doneState;
  const others = current.filter((task) => !sameImage(task.image, goal.image));
  // The spec itself must name the image too: a service at 0 replicas has no task to show it.
  const allRunning =
    running.length === desired &&
    others.length === 0 &&
    current.length === desired &&
    sameImage(service.image, goal.image);
  // With no update to watch (a service started from 0 replicas, or scaled back up), nothing in the
  // swarm watches new tasks after they start: a task that exits a second after "running" would pass.
  // So each new task must stay running as long as the swarm's own update monitor would watch it.
  const settling = goal.expect
    ? []
    : running.filter(
        (task) => !goal.knownTaskIds.has(task.id) && (options.runningForMs?.(task) ?? Infinity) < service.monitorMs,
      );
  const progress = `${running.length}/${desired} task(s) running ${tag}`;
  if (allRunning && updateDone && settling.length > 0)
    return {
      ...status,
      state: 'progressing',
      detail: `${progress}; watching ${settling.map((task) => describeTask(task, nodeName)).join(', ')} for ${service.monitorMs / 1000}s after it started (update_config monitor)`,
    };
  if (allRunning && updateDone)
    return { ...status, state: 'ready', detail: `${progress}${goal.expect ? `, ${doneState.replace('_', ' ')}` : ''}` };
  const waiting = current
    .filter((task) => task.state !== 'running' || !sameImage(task.image, goal.image))
    .map(
      (task) =>
        `${describeTask(task, nodeName)} ${sameImage(task.image, goal.image) ? task.state : `still runs ${task.image.split('@')[0]}`}${task.state === 'starting' && service.healthcheck ? ' (waiting for its healthcheck)' : ''}`,
    );
  const phase = goal.expect
    ? fresh
      ? fresh.state.replace('_', ' ')
      : `${goal.expect.kind} not started yet`
    : 'no update needed';
  return {
    ...status,
    state: 'progressing',
    detail: `${progress}, ${phase}${waiting.length > 0 ? `; ${waiting.join(', ')}` : ''}`,
  };
}

export class SwarmWatcher {
  /** When this watcher first saw each task running, by its own clock (a manager over SSH may differ). */
  private readonly firstSeenRunning = new Map<string, number>();

  constructor(
    private readonly executor: HostExecutor,
    private readonly goals: readonly SwarmGoal[],
    private readonly options: { pollMs?: number; nodeName?: (id: string) => string } = {},
  ) {}

  async check(): Promise<SwarmServiceStatus[]> {
    const { services, tasks } = await servicesWithTasks(
      this.executor,
      this.goals.map((goal) => goal.serviceId),
    );
    const now = Date.now();
    for (const task of tasks)
      if (task.state === 'running' && !this.firstSeenRunning.has(task.id)) this.firstSeenRunning.set(task.id, now);
    return this.goals.map((goal) =>
      judgeService(
        goal,
        services.find((service) => service.id === goal.serviceId),
        tasks,
        {
          nodeName: this.options.nodeName,
          runningForMs: (task) => now - (this.firstSeenRunning.get(task.id) ?? now),
        },
      ),
    );
  }

  /**
   * Looks until every service is ready, one has failed, or the deadline passes. With a probe (the
   * ready-url), it runs alongside and must succeed too.
   */
  async waitUntilConverged(
    deadline: number,
    options: {
      onProgress?: (statuses: SwarmServiceStatus[]) => void;
      probe?: (signal: AbortSignal) => Promise<ProbeResult>;
    } = {},
  ): Promise<SwarmWaitResult> {
    const pollMs = this.options.pollMs ?? 200;
    const controller = new AbortController();
    let probe: ProbeResult | undefined;
    const probing = options.probe?.(controller.signal).then((result) => (probe = result));
    try {
      for (;;) {
        const statuses = await this.check();
        options.onProgress?.(statuses);
        if (statuses.some((status) => status.state === 'failed'))
          return { ok: false, timedOut: false, statuses, probe };
        if (probe && !probe.ok) return { ok: false, timedOut: false, statuses, probe };
        const allReady = statuses.every((status) => status.state === 'ready');
        if (allReady && (!probing || probe?.ok)) return { ok: true, timedOut: false, statuses, probe };
        if (allReady && probing) {
          // The probe ends by the deadline itself; then one more look, so a task that failed meanwhile is seen.
          await probing;
          continue;
        }
        if (Date.now() + pollMs > deadline) return { ok: false, timedOut: !allReady, statuses, probe };
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    } finally {
      controller.abort();
      await probing?.catch(() => undefined);
    }
  }
}

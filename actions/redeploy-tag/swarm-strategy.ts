import * as core from '@actions/core';
import { formatDuration } from '../../shared/duration.js';
import { ActionError, InputError } from '../../shared/errors.js';
import { stringify as stringifyYaml } from 'yaml';
import type { FileServiceConfig } from '../../shared/engine/compose-file.js';
import { writeComposeOverride } from '../../shared/engine/compose.js';
import { imageTag } from '../../shared/engine/containers.js';
import type { HostExecutor } from '../../shared/engine/executor.js';
import { inspectImage, registryDigest } from '../../shared/engine/images.js';
import {
  inspectServices,
  requireSwarmManager,
  sameImage,
  servicesWithTasks,
  taskFailure,
  taskHealth,
  taskLogs,
  withoutDigest,
  type SwarmService,
  type SwarmTask,
} from '../../shared/engine/swarm.js';
import {
  describeNode,
  eligibleNodes,
  ensureImageOnNodes,
  listNodes,
  type SwarmNode,
} from '../../shared/engine/swarm-nodes.js';
import {
  deployStack,
  resolveStackServices,
  stackDeployArgs,
  stackDeployDetachFlag,
  stackServiceName,
  stackShortName,
  type StackFiles,
} from '../../shared/engine/swarm-stack.js';
import { SwarmWatcher, type SwarmGoal, type SwarmServiceStatus } from '../../shared/engine/swarm-watch.js';
import { formatCommand, ProcessError } from '../../shared/process.js';
import type { RedeployInputs } from './inputs.js';
import type {
  FailureLog,
  PreparedRedeploy,
  RedeployReport,
  ServiceResult,
  ServiceSnapshot,
  ServiceTarget,
} from './plan.js';
import { describeReadyUrl, pollReadyUrl } from './ready-url.js';

/**
 * Strategy "swarm": Docker Swarm services, on a manager (the runner's engine, or one over SSH).
 * A stack is deployed again from its compose files with the tag in the tag variable (`docker stack
 * deploy`); named services get `docker service update --image`. Before that, the target image
 * must be on (or pullable by) every node that may run it. Afterwards the update must end
 * `completed` with every task running the new image, healthy, within health-timeout; otherwise
 * each changed service goes back to its previous spec (`docker service rollback`) and is watched
 * until that has completed too.
 */
const LOG_LINES = 20;

interface SwarmTargetPlan {
  /** The service's swarm name (stack services: <stack>_<service>). */
  name: string;
  image: string;
  constraints: string[];
}

/** "host:5000/app:v1@sha256:..." -> "host:5000/app". */
export function imageRepository(reference: string): string {
  const name = withoutDigest(reference);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  return colon >= 0 ? name.slice(0, colon) : name;
}

/** Whether an image as written in a compose file takes its tag from `variable` ($VAR, ${VAR}, ${VAR:-x}...). */
export function readsVariable(rawImage: string, variable: string): boolean {
  return new RegExp(`\\$(?:\\{${variable}(?:[:?+-][^}]*)?\\}|${variable}(?![A-Za-z0-9_]))`).test(rawImage);
}

function stackTargets(
  inputs: RedeployInputs,
  stack: string,
  config: Record<string, FileServiceConfig>,
): SwarmTargetPlan[] {
  const names =
    inputs.services.length > 0
      ? inputs.services
      : Object.keys(config).filter((service) => readsVariable(config[service].rawImage, inputs.tagVariable));
  if (names.length === 0) {
    throw new ActionError(
      `No service of stack "${stack}" takes its image tag from ${inputs.tagVariable} in ${inputs.composeFiles.join(', ')}, so deploying ${inputs.tag} would change nothing.`,
      {
        hint: `Write the services' images as <name>:\${${inputs.tagVariable}}, or set tag-variable to the variable the file uses.`,
      },
    );
  }
  return names.map((service) => {
    const entry = config[service];
    if (!entry)
      throw new InputError(
        'services',
        `names "${service}", which is not a service of stack "${stack}" in ${inputs.composeFiles.join(', ')}; its services: ${Object.keys(config).join(', ')}.`,
      );
    if (imageTag(entry.image) !== inputs.tag) {
      throw new ActionError(
        `Service "${service}" of stack "${stack}" would run image ${entry.image} with ${inputs.tagVariable}=${inputs.tag}: its tag does not come from ${inputs.tagVariable}, so redeploying would not change it.`,
        {
          hint: `Write its image as <name>:\${${inputs.tagVariable}} in the compose file, or set tag-variable to the variable it uses.`,
        },
      );
    }
    return { name: stackServiceName(stack, service), image: entry.image, constraints: entry.constraints };
  });
}

async function servicesNotFound(executor: HostExecutor, missing: string[]): Promise<never> {
  const { stdout } = await executor.run('docker', ['service', 'ls', '--format', '{{.Name}}'], { timeoutMs: 60_000 });
  const existing = stdout.split('\n').filter(Boolean);
  throw new InputError(
    'services',
    `names ${missing.map((name) => `"${name}"`).join(', ')}, which ${missing.length > 1 ? 'are not services' : 'is not a service'} of the swarm on ${executor.description}; its services: ${existing.join(', ') || 'none'}.`,
  );
}

function snapshotOf(
  name: string,
  service: SwarmService | undefined,
  tasks: readonly SwarmTask[],
  imageId: string | undefined,
): ServiceSnapshot {
  if (!service) return { service: name, containerIds: [] };
  const running = tasks.filter(
    (task) => task.serviceId === service.id && task.desiredState === 'running' && task.state === 'running',
  );
  const digest = service.image.includes('@') ? service.image.split('@')[1] : undefined;
  return {
    service: name,
    image: service.reference,
    tag: service.tag,
    imageId: imageId ?? digest,
    digest,
    containerIds: running.flatMap((task) => (task.containerId ? [task.containerId] : [])),
  };
}

export async function prepareSwarm(inputs: RedeployInputs, executor: HostExecutor): Promise<PreparedRedeploy> {
  const env = { ...inputs.envOverrides, [inputs.tagVariable]: inputs.tag };
  const stack: StackFiles | undefined = inputs.stack
    ? { stack: inputs.stack, files: inputs.composeFiles, workingDirectory: inputs.workingDirectory }
    : undefined;
  const [{ nodeId }, config, detachFlag] = await Promise.all([
    requireSwarmManager(executor),
    stack ? resolveStackServices(executor, stack, env) : undefined,
    stack ? stackDeployDetachFlag(executor) : [],
  ]);
  const nodesLookup = listNodes(executor, nodeId);
  nodesLookup.catch(() => undefined);

  const stackPlans = stack ? stackTargets(inputs, stack.stack, config!) : undefined;
  // What runs now: the services that exist (a stack may be adding some) and their tasks.
  const before = await servicesWithTasks(executor, stackPlans?.map((plan) => plan.name) ?? inputs.services);
  const existing = before.services;
  const byName = new Map(existing.map((service) => [service.name, service]));
  const missing = stackPlans ? [] : inputs.services.filter((name) => !byName.has(name));
  if (missing.length > 0) await servicesNotFound(executor, missing);
  const plans: SwarmTargetPlan[] =
    stackPlans ??
    inputs.services.map((name) => {
      const service = byName.get(name)!;
      return {
        name,
        image: `${inputs.image ?? imageRepository(service.reference)}:${inputs.tag}`,
        constraints: service.constraints,
      };
    });

  const previousImageIds = new Map(
    await Promise.all(
      existing.map(
        async (service) =>
          [service.name, (await inspectImage(executor, service.reference).catch(() => undefined))?.id] as const,
      ),
    ),
  );
  const previous = plans.map((plan) => {
    const service = byName.get(plan.name);
    return snapshotOf(plan.name, service, before.tasks, previousImageIds.get(plan.name));
  });
  const unknownCounts = Object.keys(inputs.replicas ?? {}).filter((name) => !plans.some((plan) => plan.name === name));
  if (unknownCounts.length > 0)
    throw new InputError(
      'replicas',
      `names ${unknownCounts.map((name) => `"${name}"`).join(', ')}, which this step does not deploy; it deploys ${plans.map((plan) => plan.name).join(', ')}.`,
    );
  const targets: ServiceTarget[] = plans.map((plan) => ({ service: plan.name, image: plan.image }));
  let nodes: SwarmNode[] = [];

  return {
    host: executor.description,
    tool: stack ? `docker stack deploy (stack ${stack.stack})` : 'docker service update',
    previous,
    targets,
    async verify() {
      nodes = await nodesLookup;
      const byImage = new Map<string, SwarmNode[]>();
      for (const plan of plans) {
        const eligible = eligibleNodes(nodes, plan.constraints);
        if (eligible.length === 0) {
          throw new ActionError(
            `No node of the swarm can run ${plan.name}: none is ready, active and matches its placement constraints (${plan.constraints.join(', ') || 'none'}). Nothing was changed.`,
          );
        }
        const list = byImage.get(plan.image) ?? [];
        for (const node of eligible) if (!list.includes(node)) list.push(node);
        byImage.set(plan.image, list);
      }
      for (const [image, imageNodes] of byImage) {
        const check = await ensureImageOnNodes(executor, image, imageNodes, inputs.pull, {
          allNodes: nodes,
          probeTimeoutMs: Math.min(inputs.healthTimeoutMs, 120_000),
        });
        core.info(`${image}: ${check.nodes.map((entry) => `${describeNode(entry.node)} ${entry.detail}`).join('; ')}.`);
        for (const target of targets.filter((candidate) => candidate.image === image)) {
          target.imageId = check.local?.id;
          target.digest = check.local && registryDigest(check.local);
          target.pulled = !check.local;
        }
      }
    },
    execute: (startedAt) =>
      executeSwarm(
        { inputs, executor, stack, detachFlag, env, plans, before, previous, targets, nodes: () => nodes },
        startedAt,
      ),
  };
}

interface SwarmRun {
  inputs: RedeployInputs;
  executor: HostExecutor;
  stack?: StackFiles;
  detachFlag: string[];
  env: Record<string, string>;
  plans: SwarmTargetPlan[];
  before: { services: SwarmService[]; tasks: SwarmTask[] };
  previous: ServiceSnapshot[];
  targets: ServiceTarget[];
  nodes: () => SwarmNode[];
}

async function applyChange(run: SwarmRun): Promise<void> {
  const { inputs, executor, stack, env } = run;
  const echo = (line: string) => core.info(`  ${line}`);
  if (stack) {
    // The recorded replicas go in the same deploy, through a last -c file, and not by a `docker
    // service scale` after it: one update, so the spec before it (`docker service rollback`'s
    // target when it fails) is the one this step started from, e.g. the stopped one at 0 replicas.
    const replicas = Object.entries(inputs.replicas ?? {});
    const override =
      replicas.length > 0
        ? await writeComposeOverride(
            executor,
            stringifyYaml({
              services: Object.fromEntries(
                replicas.map(([name, count]) => [stackShortName(stack.stack, name), { deploy: { replicas: count } }]),
              ),
            }),
          )
        : undefined;
    try {
      const extraFiles = override ? [override.path] : [];
      core.info(
        `Deploying: ${formatCommand('docker', stackDeployArgs(stack, [], extraFiles))} on ${executor.description} in ${stack.workingDirectory} (${inputs.tagVariable}=${inputs.tag}${Object.keys(inputs.envOverrides).length > 0 ? ` and env-overrides ${Object.keys(inputs.envOverrides).join(', ')}` : ''}${replicas.length > 0 ? `; the recorded replicas ${replicas.map(([name, count]) => `${name}=${count}`).join(', ')}` : ''})`,
      );
      await deployStack(executor, stack, env, run.detachFlag, echo, extraFiles);
    } finally {
      await override?.remove();
    }
    return;
  }
  // env-overrides reach the containers' environment: without a compose file there is nothing else to read them.
  const envArgs = Object.entries(inputs.envOverrides).flatMap(([name, value]) => ['--env-add', `${name}=${value}`]);
  await Promise.all(
    run.plans.map(async (plan) => {
      const count = inputs.replicas?.[plan.name];
      const replicaArgs = count === undefined ? [] : ['--replicas', String(count)];
      const args = ['service', 'update', '--detach', '--image', plan.image, ...replicaArgs, ...envArgs, plan.name];
      core.info(
        `Updating: ${formatCommand('docker', [...args.slice(0, 5 + replicaArgs.length), ...(envArgs.length > 0 ? ['--env-add', '…'] : []), plan.name])} on ${executor.description}`,
      );
      try {
        await executor.run('docker', args, { timeoutMs: 300_000, onStderrLine: echo });
      } catch (error) {
        if (error instanceof ProcessError)
          throw new ActionError(
            `docker service update of ${plan.name} failed on ${executor.description}:\n${(error.result.stderr || error.result.stdout).trim()}`,
          );
        throw error;
      }
    }),
  );
}

function nodeNamer(run: SwarmRun): (id: string) => string {
  return (id) => {
    const node = run.nodes().find((candidate) => candidate.id === id);
    return node ? describeNode(node) : id.slice(0, 12);
  };
}

async function watch(
  run: SwarmRun,
  goals: SwarmGoal[],
  label: string,
  startedAt: number,
): Promise<{
  ok: boolean;
  timedOut: boolean;
  statuses: SwarmServiceStatus[];
  readyAt: Map<string, number>;
  readyUrlOk?: boolean;
  failure?: string;
}> {
  const { inputs } = run;
  const deadline = Date.now() + inputs.healthTimeoutMs;
  const readyAt = new Map<string, number>();
  const shown = new Map<string, string>();
  const readyUrl = inputs.readyUrl;
  const watcher = new SwarmWatcher(run.executor, goals, { nodeName: nodeNamer(run) });
  const waited = await watcher.waitUntilConverged(deadline, {
    onProgress: (statuses) => {
      for (const status of statuses) {
        if (status.state === 'ready' && !readyAt.has(status.name)) readyAt.set(status.name, Date.now() - startedAt);
        if (shown.get(status.name) !== status.detail) {
          shown.set(status.name, status.detail);
          core.info(`  ${status.name}: ${status.detail} (${formatDuration(Date.now() - startedAt)})`);
        }
      }
    },
    probe: readyUrl
      ? async (signal) => {
          const ready = await pollReadyUrl(readyUrl, deadline, { signal });
          if (!signal.aborted)
            core.info(
              `  ready-url ${describeReadyUrl(readyUrl)}: ${ready.last} after ${ready.attempts} attempt(s), ${formatDuration(ready.elapsedMs)} (${formatDuration(Date.now() - startedAt)})`,
            );
          return ready;
        }
      : undefined,
  });
  const readyUrlOk = waited.probe?.ok;
  if (waited.ok) return { ok: true, timedOut: false, statuses: waited.statuses, readyAt, readyUrlOk };
  const bad = waited.statuses.filter((status) => status.state !== 'ready');
  const failure =
    bad.length > 0
      ? bad
          .map(
            (status) =>
              `${label} of ${status.name} ${waited.timedOut && status.state !== 'failed' ? `did not complete within ${formatDuration(inputs.healthTimeoutMs)}` : 'failed'}: ${status.detail}`,
          )
          .join('; ')
      : `ready-url ${describeReadyUrl(readyUrl!)} did not answer 2xx within ${formatDuration(inputs.healthTimeoutMs)} (last: ${waited.probe?.last ?? 'no answer'}).`;
  return { ok: false, timedOut: waited.timedOut, statuses: waited.statuses, readyAt, readyUrlOk, failure };
}

/** What each failed (or still unhealthy) task says: its error, the healthcheck's last output where the manager can see the container. */
async function failedTaskDetails(
  run: SwarmRun,
  statuses: readonly SwarmServiceStatus[],
): Promise<Map<string, { id: string; node?: string; error: string }[]>> {
  const details = new Map<string, { id: string; node?: string; error: string }[]>();
  const name = nodeNamer(run);
  for (const status of statuses) {
    const stuck = status.state === 'ready' ? [] : status.tasks.filter((task) => task.state !== 'running');
    const list = await Promise.all(
      [...status.failedTasks, ...stuck].map(async (task) => {
        const health = await taskHealth(run.executor, task);
        const healthText =
          health && health.status !== 'healthy'
            ? `; healthcheck ${health.status}${health.lastOutput ? `: ${health.lastOutput.split('\n')[0].slice(0, 300)}` : ''}`
            : '';
        return {
          id: task.id,
          node: task.nodeId ? name(task.nodeId) : undefined,
          error: `${FAILED_STATES.has(task.state) ? taskFailure(task) : `still ${task.state}`}${healthText}`,
        };
      }),
    );
    details.set(status.name, list);
  }
  return details;
}

const FAILED_STATES = new Set(['complete', 'failed', 'rejected', 'orphaned', 'shutdown']);

async function collectLogs(run: SwarmRun, statuses: readonly SwarmServiceStatus[]): Promise<FailureLog[]> {
  const wanted = statuses.flatMap((status) =>
    [
      ...status.failedTasks,
      ...(status.state === 'ready' ? [] : status.tasks.filter((task) => task.state !== 'running')),
    ]
      .slice(0, 3)
      .map((task) => ({ service: status.name, task })),
  );
  return await Promise.all(
    wanted.map(async ({ service, task }) => ({
      service,
      containerId: task.containerId ?? task.id,
      lines: await taskLogs(run.executor, task.id, LOG_LINES),
    })),
  );
}

function results(
  run: SwarmRun,
  statuses: readonly SwarmServiceStatus[],
  readyAt: Map<string, number>,
  to: (name: string) => string,
  failures?: Map<string, { id: string; node?: string; error: string }[]>,
): ServiceResult[] {
  return run.plans.map((plan) => {
    const status = statuses.find((candidate) => candidate.name === plan.name);
    const snapshot = run.previous.find((candidate) => candidate.service === plan.name);
    return {
      service: plan.name,
      from: snapshot?.tag ?? snapshot?.image,
      to: to(plan.name),
      containerIds: (status?.tasks ?? [])
        .filter((task) => task.state === 'running')
        .flatMap((task) => (task.containerId ? [task.containerId] : [])),
      health: status?.detail ?? 'unknown',
      ready: status?.state === 'ready',
      readyAfterMs: readyAt.get(plan.name),
      replicas: status ? { desired: status.desired, running: status.running } : undefined,
      failedTasks: failures?.get(plan.name) ?? [],
    };
  });
}

function currentSnapshots(
  run: SwarmRun,
  statuses: readonly SwarmServiceStatus[],
  imageIds: Map<string, string | undefined>,
): ServiceSnapshot[] {
  return run.plans.map((plan) => {
    const status = statuses.find((candidate) => candidate.name === plan.name);
    return snapshotOf(
      plan.name,
      status?.service,
      status?.tasks ?? [],
      status?.service ? imageIds.get(withoutDigest(status.service.image)) : undefined,
    );
  });
}

async function executeSwarm(run: SwarmRun, startedAt: number): Promise<RedeployReport> {
  const { inputs, executor } = run;
  const knownTaskIds = new Set(run.before.tasks.map((task) => task.id));
  await applyChange(run);

  const names = run.plans.map((plan) => plan.name);
  const after = await inspectServices(executor, names);
  const goals: SwarmGoal[] = [];
  for (const plan of run.plans) {
    const now = after.find((service) => service.name === plan.name);
    if (!now)
      throw new ActionError(
        `${plan.name} does not exist after the deploy: ${run.stack ? `check that stack "${run.stack.stack}"'s files define it` : 'was it removed meanwhile?'}`,
      );
    const was = run.before.services.find((service) => service.id === now.id);
    const changed = !was || was.taskTemplate !== now.taskTemplate;
    // A service scaled to 0 (stopped for a database change) has no task to update: the swarm
    // may record no update at all, and its new tasks start at the new spec.
    const fromZero = was?.replicas === 0;
    goals.push({
      serviceId: now.id,
      name: plan.name,
      image: now.image,
      expect: was && changed && !fromZero ? { kind: 'update', after: was.update?.startedAt } : undefined,
      knownTaskIds,
    });
  }
  const unchanged = goals.every(
    (goal, index) =>
      !goal.expect &&
      run.previous[index].image !== undefined &&
      run.before.services.find((service) => service.id === goal.serviceId)?.taskTemplate ===
        after.find((service) => service.id === goal.serviceId)?.taskTemplate &&
      inputs.replicas?.[goal.name] === undefined,
  );
  const imageIds = new Map<string, string | undefined>([
    ...run.targets.map((target) => [target.image!, target.imageId] as [string, string | undefined]),
    ...run.previous
      .filter((snapshot) => snapshot.image)
      .map((snapshot) => [snapshot.image!, snapshot.imageId] as [string, string | undefined]),
  ]);

  const round = await watch(run, goals, 'Update', startedAt);
  if (round.ok) {
    return {
      success: true,
      outcome: unchanged ? 'unchanged' : 'deployed',
      services: results(run, round.statuses, round.readyAt, () => inputs.tag),
      current: currentSnapshots(run, round.statuses, imageIds),
      logs: [],
      readyUrlOk: round.readyUrlOk,
    };
  }

  const failures = await failedTaskDetails(run, round.statuses);
  const logs = await collectLogs(run, round.statuses);
  for (const log of logs) {
    core.startGroup(`Last ${LOG_LINES} log lines of ${log.service} (task container ${log.containerId.slice(0, 12)})`);
    core.info(log.lines || '(no output)');
    core.endGroup();
  }
  const quoted = [...failures.entries()].flatMap(([service, list]) =>
    list
      .slice(0, 1)
      .map((task) => `${service} task ${task.id.slice(0, 12)}${task.node ? ` on ${task.node}` : ''}: "${task.error}"`),
  );
  const failure = `${round.failure}${quoted.length > 0 ? `. Failing task: ${quoted.join('; ')}` : ''}`;
  const failed = results(run, round.statuses, round.readyAt, () => inputs.tag, failures);
  if (inputs.onFailure !== 'restore-previous') {
    return {
      success: false,
      outcome: 'failed',
      failure,
      services: failed,
      current: currentSnapshots(run, round.statuses, imageIds),
      logs,
      readyUrlOk: round.readyUrlOk,
      hint: 'on-failure is "leave": the services were left as the failed update left them (docker service ps shows the tasks).',
    };
  }

  const restore = await restorePrevious(run, goals, round.statuses, startedAt);
  const restoredResults = results(
    run,
    restore.statuses,
    restore.readyAt,
    (name) => run.previous.find((snapshot) => snapshot.service === name)?.tag ?? '(previous)',
  )
    .filter((result) => restore.statuses.some((status) => status.name === result.service))
    .map((result) => ({ ...result, from: inputs.tag }));
  const finalLook = await new SwarmWatcher(executor, goals).check().catch(() => restore.statuses);
  return {
    success: false,
    outcome: restore.ok ? 'restored' : 'failed',
    failure,
    services: failed,
    current: currentSnapshots(run, finalLook, imageIds),
    logs,
    restore: { ok: restore.ok, detail: restore.detail, services: restoredResults },
    readyUrlOk: round.readyUrlOk,
  };
}

/**
 * Each service this change updated goes back to its previous spec: `docker service rollback`,
 * unless the swarm already rolled it back by itself (update_config failure_action: rollback); a
 * second rollback would return to the failed spec. Then watched like the update.
 */
async function restorePrevious(
  run: SwarmRun,
  goals: readonly SwarmGoal[],
  statuses: readonly SwarmServiceStatus[],
  startedAt: number,
): Promise<{ ok: boolean; detail: string; statuses: SwarmServiceStatus[]; readyAt: Map<string, number> }> {
  const { executor } = run;
  const problems: string[] = [];
  const rollbackGoals: SwarmGoal[] = [];
  const { services: now, tasks } = await servicesWithTasks(
    executor,
    goals.map((goal) => goal.serviceId),
  );
  const known = new Set(tasks.map((task) => task.id));
  const bySwarm: string[] = [];
  for (const goal of goals) {
    const looked = statuses.find((candidate) => candidate.name === goal.name);
    // A failed task can be seen before the swarm's own rollback shows in the update state: look again,
    // since a second rollback would fail ("no previous spec") or return to the failed spec.
    const rollingBack =
      !looked?.rolledBackBySwarm &&
      now.find((service) => service.id === goal.serviceId)?.update?.state.startsWith('rollback_') === true;
    const status = looked && rollingBack ? { ...looked, rolledBackBySwarm: true } : looked;
    if (status?.rolledBackBySwarm) bySwarm.push(goal.name);
    const was = run.before.services.find((service) => service.id === goal.serviceId);
    if (!was) {
      problems.push(
        `${goal.name} did not exist before this deploy, so it has no previous spec to return to (left as it is)`,
      );
      continue;
    }
    // From 0 replicas the update is not watched as one (it may not be recorded), but it changed the
    // spec all the same: its previous spec, the stopped one, is what comes back.
    const fromZero = was.replicas === 0 && was.taskTemplate !== status?.service?.taskTemplate;
    if (!goal.expect && !fromZero) continue;
    if (!status?.rolledBackBySwarm) {
      core.info(`Rolling back ${goal.name}: docker service rollback --detach ${goal.name}`);
      try {
        await executor.run('docker', ['service', 'rollback', '--detach', goal.name], { timeoutMs: 120_000 });
      } catch (error) {
        if (!(error instanceof ProcessError)) throw error;
        problems.push(
          `docker service rollback ${goal.name} failed: ${(error.result.stderr || error.result.stdout).trim()}`,
        );
        continue;
      }
    } else {
      core.info(
        `${goal.name}: the swarm is already rolling it back (update_config failure_action: rollback); waiting for that.`,
      );
    }
    rollbackGoals.push({
      serviceId: goal.serviceId,
      name: goal.name,
      image: was.image,
      // Back at 0 replicas no task is replaced, so there is no rollback to wait for: the spec's
      // image and no task left running the failed one is the end.
      expect: fromZero
        ? undefined
        : {
            kind: 'rollback',
            after: status?.rolledBackBySwarm ? undefined : (status?.update?.startedAt ?? was.update?.startedAt),
          },
      knownTaskIds: known,
    });
  }
  let watched: Awaited<ReturnType<typeof watch>> | undefined;
  if (rollbackGoals.length > 0) {
    watched = await watch(run, rollbackGoals, 'Rollback', startedAt);
    for (let resumed = 0; !watched.ok && resumed < MAX_ROLLBACK_RESUMES; resumed++) {
      const goals = await resumePausedRollbacks(run, rollbackGoals, watched.statuses);
      if (goals.length === 0) break;
      watched = await watch(run, goals, 'Rollback', startedAt);
    }
    if (!watched.ok) problems.push(watched.failure ?? 'the rollback did not complete');
  }
  const ok = problems.length === 0;
  const stopped = (goal: SwarmGoal) =>
    run.before.services.find((service) => service.id === goal.serviceId)?.replicas === 0;
  const back = rollbackGoals.map(
    (goal) => `${goal.name} to ${withoutDigest(goal.image)}${stopped(goal) ? ' at 0 replicas, stopped as it was' : ''}`,
  );
  const how =
    bySwarm.length > 0 ? `the swarm rolled the update back itself (${bySwarm.join(', ')})` : 'docker service rollback';
  const detail = ok
    ? `rolled back ${back.join(', ')} (${how}); ${rollbackGoals.every(stopped) ? 'no task runs' : 'every task runs it and is healthy again'}`
    : `restore incomplete: ${problems.join('; ')}`;
  (ok ? core.info : core.error)(`on-failure restore-previous: ${detail}`);
  return { ok, detail, statuses: watched?.statuses ?? [], readyAt: watched?.readyAt ?? new Map() };
}

const MAX_ROLLBACK_RESUMES = 3;

/**
 * A swarm rollback pauses (rollback_paused, "update paused due to failure or early termination of
 * task ...") when a task ends while it is monitored, and a task of the failed spec being stopped
 * under it is enough (its rollback_config failure_action is pause by default). The spec is then
 * already the previous one, so `docker service update <name>` with no change resumes it, as
 * Docker's documentation says for a paused update; its tasks are replaced until every one runs the
 * previous image and is healthy. The goals to watch again (kind update, newer than the paused one);
 * none when nothing paused with the previous spec in place (a real failure of the previous image).
 */
async function resumePausedRollbacks(
  run: SwarmRun,
  goals: SwarmGoal[],
  statuses: readonly SwarmServiceStatus[],
): Promise<SwarmGoal[]> {
  const paused = statuses.filter(
    (status) =>
      status.update?.state === 'rollback_paused' &&
      status.service !== undefined &&
      goals.some((goal) => goal.name === status.name && sameImage(status.service!.image, goal.image)),
  );
  if (paused.length === 0) return [];
  const { tasks } = await servicesWithTasks(
    run.executor,
    goals.map((goal) => goal.serviceId),
  );
  // Tasks that ended before the resume were judged with the paused rollback.
  const known = new Set(tasks.map((task) => task.id));
  const resumed: SwarmGoal[] = [];
  for (const status of paused) {
    core.info(
      `${status.name}: the rollback paused (${status.update?.message ?? 'no message'}) with the previous spec in place; resuming it: docker service update --detach ${status.name}`,
    );
    await run.executor.run('docker', ['service', 'update', '--detach', status.name], { timeoutMs: 120_000 });
  }
  for (const goal of goals) {
    const status = paused.find((candidate) => candidate.name === goal.name);
    resumed.push(
      status
        ? { ...goal, expect: { kind: 'update', after: status.update?.startedAt }, knownTaskIds: known }
        : { ...goal, knownTaskIds: known },
    );
  }
  return resumed;
}

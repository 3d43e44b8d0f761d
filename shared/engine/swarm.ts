import { ActionError } from '../errors.js';
import { ProcessError } from '../process.js';
import { imageTag, inspectContainers } from './containers.js';
import { filters } from './engine-api.js';
import type { HostExecutor } from './executor.js';

/**
 * What a Docker Swarm manager says about services and their tasks, through the docker CLI where
 * the executor runs (the runner, or a manager over SSH). One `docker inspect` reads services and
 * tasks together, so watching an update costs two round trips a look.
 */
export interface SwarmUpdateStatus {
  /** updating | paused | completed | rollback_started | rollback_paused | rollback_completed */
  state: string;
  startedAt?: string;
  message?: string;
}

export interface SwarmService {
  id: string;
  name: string;
  /** The image in the spec, as the tasks get it: pinned to a digest when a registry resolved it. */
  image: string;
  /** The spec's image without a digest, e.g. registry/app:v1.2.0. */
  reference: string;
  tag?: string;
  mode: 'replicated' | 'global' | 'job';
  /** Desired replicas (replicated mode). */
  replicas?: number;
  version: number;
  update?: SwarmUpdateStatus;
  /** The spec's image before the last update, which `docker service rollback` returns to. */
  previousImage?: string;
  healthcheck: boolean;
  constraints: string[];
  /** The task template as JSON: when it changes, the tasks are replaced. */
  taskTemplate: string;
  /**
   * How long the swarm watches a new task after it starts before an update counts it as good
   * (update_config monitor; swarmkit's default is 5 s).
   */
  monitorMs: number;
  labels: Record<string, string>;
}

export interface SwarmTask {
  id: string;
  serviceId: string;
  slot?: number;
  nodeId?: string;
  image: string;
  /** running | shutdown | ready ... (what the orchestrator wants) */
  desiredState: string;
  /** new | pending | assigned | accepted | preparing | ready | starting | running | complete | shutdown | failed | rejected | remove | orphaned */
  state: string;
  message: string;
  error?: string;
  containerId?: string;
  exitCode?: number;
  createdAt: string;
  updatedAt: string;
}

interface ContainerSpecJson {
  Image?: string;
  Healthcheck?: { Test?: string[] } | null;
}

interface ServiceJson {
  ID: string;
  Version: { Index: number };
  Spec: {
    Name: string;
    Labels?: Record<string, string> | null;
    TaskTemplate: { ContainerSpec?: ContainerSpecJson; Placement?: { Constraints?: string[] | null } | null };
    /** Durations in nanoseconds. */
    UpdateConfig?: { Monitor?: number } | null;
    Mode: { Replicated?: { Replicas?: number }; Global?: object; ReplicatedJob?: object; GlobalJob?: object };
  };
  PreviousSpec?: { TaskTemplate: { ContainerSpec?: ContainerSpecJson } } | null;
  UpdateStatus?: { State?: string; StartedAt?: string; Message?: string } | null;
}

interface TaskJson {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  CreatedAt: string;
  UpdatedAt: string;
  DesiredState: string;
  Spec: { ContainerSpec?: ContainerSpecJson };
  Status: {
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number } | null;
  };
}

/** "app:v1@sha256:..." -> "app:v1": the reference a person wrote. */
export function withoutDigest(image: string): string {
  return image.split('@')[0];
}

/** Whether two spec images name the same image (a digest pinned by the manager on one side or both is ignored). */
export function sameImage(a: string, b: string): boolean {
  if (a === b) return true;
  const [aName, aDigest] = a.split('@');
  const [bName, bDigest] = b.split('@');
  if (aDigest && bDigest) return aDigest === bDigest;
  return aName === bName;
}

function healthcheckOf(spec: ContainerSpecJson | undefined): boolean {
  const test = spec?.Healthcheck?.Test;
  return Boolean(test && test.length > 0 && test[0] !== 'NONE');
}

/** swarmkit's api/defaults: an update watches each new task for 5 s when update_config sets no monitor. */
const DEFAULT_MONITOR_MS = 5_000;

export function parseService(json: ServiceJson): SwarmService {
  const spec = json.Spec;
  const image = spec.TaskTemplate.ContainerSpec?.Image ?? '';
  const labels = spec.Labels ?? {};
  // A stack records the image as written in its file; the spec may carry a digest on top.
  const reference = withoutDigest(image);
  const mode = spec.Mode.Replicated ? 'replicated' : spec.Mode.Global ? 'global' : 'job';
  const update = json.UpdateStatus?.State
    ? { state: json.UpdateStatus.State, startedAt: json.UpdateStatus.StartedAt, message: json.UpdateStatus.Message }
    : undefined;
  return {
    id: json.ID,
    name: spec.Name,
    image,
    reference,
    tag: imageTag(reference),
    mode,
    replicas: spec.Mode.Replicated ? (spec.Mode.Replicated.Replicas ?? 1) : undefined,
    version: json.Version.Index,
    update,
    previousImage: json.PreviousSpec?.TaskTemplate.ContainerSpec?.Image,
    healthcheck: healthcheckOf(spec.TaskTemplate.ContainerSpec),
    constraints: spec.TaskTemplate.Placement?.Constraints ?? [],
    taskTemplate: JSON.stringify(spec.TaskTemplate),
    monitorMs: spec.UpdateConfig?.Monitor ? spec.UpdateConfig.Monitor / 1e6 : DEFAULT_MONITOR_MS,
    labels,
  };
}

export function parseTask(json: TaskJson): SwarmTask {
  const container = json.Status.ContainerStatus;
  return {
    id: json.ID,
    serviceId: json.ServiceID,
    slot: json.Slot,
    nodeId: json.NodeID || undefined,
    image: json.Spec.ContainerSpec?.Image ?? '',
    desiredState: json.DesiredState,
    state: json.Status.State,
    message: json.Status.Message ?? '',
    error: json.Status.Err || undefined,
    containerId: container?.ContainerID || undefined,
    exitCode: container?.ExitCode,
    createdAt: json.CreatedAt,
    updatedAt: json.UpdatedAt,
  };
}

interface SwarmInfoJson {
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  NodeID?: string;
}

/** Whether the engine where the executor runs is a swarm manager; throws saying what it is otherwise. */
export async function requireSwarmManager(executor: HostExecutor): Promise<{ nodeId: string }> {
  const api = executor.engine?.();
  const swarm = api
    ? ((await api.get<{ Swarm: SwarmInfoJson }>('/info'))?.Swarm ?? {})
    : (JSON.parse(
        (await executor.run('docker', ['info', '--format', '{{json .Swarm}}'], { timeoutMs: 30_000 })).stdout,
      ) as SwarmInfoJson);
  if (swarm.LocalNodeState !== 'active') {
    throw new ActionError(
      `The Docker engine on ${executor.description} is not part of a swarm (swarm state: ${swarm.LocalNodeState || 'inactive'}), so strategy "swarm" has nothing to update.`,
      {
        hint: 'Run the step where the engine is a swarm manager (or set ssh-host to a manager), or use strategy "compose".',
      },
    );
  }
  if (!swarm.ControlAvailable) {
    throw new ActionError(
      `The Docker engine on ${executor.description} is a swarm worker: only a manager can update services.`,
      { hint: 'Set ssh-host to a manager node (docker node ls shows them).' },
    );
  }
  return { nodeId: swarm.NodeID ?? '' };
}

const NO_SUCH = /no such (service|object|task)|not found/i;

/** `docker inspect --type <type>` of each ID; those that do not exist are left out (the CLI answers the others and exits 1). */
async function inspectByCli<T>(executor: HostExecutor, type: 'service' | 'task', ids: readonly string[]): Promise<T[]> {
  if (ids.length === 0) return [];
  const result = await executor.run('docker', ['inspect', '--type', type, ...ids], {
    okExitCodes: [0, 1],
    timeoutMs: 60_000,
  });
  if (result.exitCode !== 0 && !NO_SUCH.test(result.stderr))
    throw new ProcessError(
      `docker inspect --type ${type} (on ${executor.description})`,
      result,
      `exited with code ${result.exitCode}`,
    );
  return JSON.parse(result.stdout.trim() || '[]') as T[];
}

/** Services by name or ID (missing ones left out). */
export async function inspectServices(executor: HostExecutor, services: readonly string[]): Promise<SwarmService[]> {
  const api = executor.engine?.();
  // insertDefaults: the spec as `docker service inspect` shows it, defaults filled in.
  const found = api
    ? await Promise.all(services.map((name) => api.get<ServiceJson>(`/services/${name}`, { insertDefaults: 'true' })))
    : await inspectByCli<ServiceJson>(executor, 'service', services);
  return found.filter((json): json is ServiceJson => json !== undefined).map(parseService);
}

/** Every task of the services (old ones too, as many as the swarm's task history keeps). */
export async function serviceTasks(executor: HostExecutor, services: readonly string[]): Promise<SwarmTask[]> {
  if (services.length === 0) return [];
  const api = executor.engine?.();
  if (api) {
    // The API filters tasks by service ID or name.
    return ((await api.get<TaskJson[]>('/tasks', filters({ service: [...services] }))) ?? []).map(parseTask);
  }
  const { stdout } = await executor.run('docker', ['service', 'ps', '-q', '--no-trunc', ...services], {
    timeoutMs: 60_000,
  });
  const ids = [
    ...new Set(
      stdout
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    ),
  ];
  return (await inspectByCli<TaskJson>(executor, 'task', ids)).map(parseTask);
}

/** The services that exist, by name or ID, and all their tasks. */
export async function servicesWithTasks(
  executor: HostExecutor,
  services: readonly string[],
): Promise<{ services: SwarmService[]; tasks: SwarmTask[] }> {
  const found = await inspectServices(executor, services);
  // Asked by ID only for services that exist: the engine refuses a task filter naming one that does not.
  return {
    services: found,
    tasks: await serviceTasks(
      executor,
      found.map((service) => service.id),
    ),
  };
}

/** Endings that mean the task failed (shutdown and remove are the orchestrator's own doing). */
export const FAILED_TASK_STATES = ['complete', 'failed', 'rejected', 'orphaned'];

/** "task: non-zero exit (3)", "No such image: ...", or the state and exit code when the engine gave no error. */
export function taskFailure(task: SwarmTask): string {
  if (task.error) return task.error;
  return `${task.state} (${task.message || 'no message'}${task.exitCode !== undefined ? `, exit code ${task.exitCode}` : ''})`;
}

/** The last lines a task wrote, read through the manager wherever the task ran; '' when they cannot be read. */
export async function taskLogs(executor: HostExecutor, taskId: string, lines = 20): Promise<string> {
  const result = await executor
    .run('docker', ['service', 'logs', '--raw', '--no-trunc', '--tail', String(lines), taskId], {
      okExitCodes: [0, 1],
      timeoutMs: 30_000,
    })
    .catch(() => undefined);
  if (!result || result.exitCode !== 0) return '';
  return `${result.stdout}${result.stderr}`.trimEnd();
}

/**
 * The last healthcheck output of a task's container, when the container is on the engine the
 * executor reaches (the manager's own node); undefined elsewhere or without a healthcheck.
 */
export async function taskHealth(
  executor: HostExecutor,
  task: SwarmTask,
): Promise<{ status: string; lastOutput?: string } | undefined> {
  if (!task.containerId) return undefined;
  const [container] = await inspectContainers(executor, [task.containerId]).catch(() => []);
  if (!container?.health) return undefined;
  return { status: container.health, lastOutput: container.lastHealthOutput };
}

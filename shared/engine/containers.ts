import { setTimeout as sleep } from 'node:timers/promises';
import { ActionError } from '../errors.js';
import { filters } from './engine-api.js';
import type { HostExecutor } from './executor.js';

/**
 * What the container engine says about running containers, through the docker CLI (which talks to
 * Docker or to podman's Docker-compatible API alike).
 */
export interface ContainerInfo {
  id: string;
  name: string;
  /** The image reference the container was created from, e.g. registry/app:v1.2.0. */
  image: string;
  /** The image ID (sha256:...) it runs. */
  imageId: string;
  /** The tag part of `image`, when it has one. */
  tag?: string;
  /** created | running | restarting | exited | paused | dead */
  status: string;
  running: boolean;
  restarting: boolean;
  exitCode: number;
  restartCount: number;
  /** healthy | unhealthy | starting, or undefined when the container has no healthcheck. */
  health?: string;
  /** Output of the most recent healthcheck run, when there was one (why it is unhealthy). */
  lastHealthOutput?: string;
  /** The engine's error for a container that could not start, e.g. a missing executable. */
  error?: string;
  oomKilled: boolean;
  startedAt: string;
  labels: Record<string, string>;
}

interface InspectJson {
  Id: string;
  Name: string;
  Image: string;
  RestartCount?: number;
  Config: { Image: string; Labels?: Record<string, string> | null };
  State: {
    Status: string;
    Running: boolean;
    Restarting: boolean;
    ExitCode: number;
    StartedAt: string;
    Error?: string;
    OOMKilled?: boolean;
    Health?: { Status: string; Log?: { Output?: string }[] | null } | null;
  };
}

/** The tag of an image reference: "app:v1.2.0" -> "v1.2.0", "host:5000/app" -> undefined, digests ignored. */
export function imageTag(reference: string): string | undefined {
  const withoutDigest = reference.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? withoutDigest.slice(colon + 1) : undefined;
}

export function parseInspect(json: InspectJson): ContainerInfo {
  return {
    id: json.Id,
    name: json.Name.replace(/^\//, ''),
    image: json.Config.Image,
    imageId: json.Image,
    tag: imageTag(json.Config.Image),
    status: json.State.Status,
    running: json.State.Running,
    restarting: json.State.Restarting,
    exitCode: json.State.ExitCode,
    restartCount: json.RestartCount ?? 0,
    health: json.State.Health?.Status || undefined,
    lastHealthOutput: json.State.Health?.Log?.at(-1)?.Output?.trim() || undefined,
    error: json.State.Error || undefined,
    oomKilled: json.State.OOMKilled ?? false,
    startedAt: json.State.StartedAt,
    labels: json.Config.Labels ?? {},
  };
}

/** `docker container inspect` of each ID, from the engine API when it is local; undefined for one that is gone. */
async function inspectEach(
  executor: HostExecutor,
  ids: readonly string[],
  env?: Record<string, string | undefined>,
): Promise<(InspectJson | undefined)[]> {
  const api = executor.engine?.(env);
  if (api) return await Promise.all(ids.map((id) => api.get<InspectJson>(`/containers/${id}/json`)));
  const result = await executor.run('docker', ['container', 'inspect', ...ids], { env, okExitCodes: [0, 1] });
  const found = JSON.parse(result.stdout.trim() || '[]') as InspectJson[];
  // The CLI answers for those that exist and exits 1 for the rest; match its answers to the IDs asked.
  return ids.map((id) => found.find((json) => json.Id.startsWith(id) || json.Name.replace(/^\//, '') === id));
}

/** The containers that still exist, of those asked. */
export async function inspectContainers(
  executor: HostExecutor,
  ids: readonly string[],
  env?: Record<string, string | undefined>,
): Promise<ContainerInfo[]> {
  if (ids.length === 0) return [];
  return (await inspectEach(executor, ids, env))
    .filter((json): json is InspectJson => json !== undefined)
    .map(parseInspect);
}

/** Inspects containers known by ID; undefined when any of them no longer exists (list again then). */
export async function reinspectContainers(
  executor: HostExecutor,
  ids: readonly string[],
  env?: Record<string, string | undefined>,
): Promise<ContainerInfo[] | undefined> {
  if (ids.length === 0) return [];
  const found = await inspectEach(executor, ids, env);
  if (found.some((json) => json === undefined)) return undefined;
  return (found as InspectJson[]).map(parseInspect);
}

/**
 * Containers of a compose project (and service), found by the labels every compose version sets,
 * newest first. Includes stopped ones unless `runningOnly`.
 */
export async function composeContainers(
  executor: HostExecutor,
  project: string,
  service?: string,
  options: { runningOnly?: boolean; env?: Record<string, string | undefined> } = {},
): Promise<ContainerInfo[]> {
  const labels = [
    `com.docker.compose.project=${project}`,
    ...(service ? [`com.docker.compose.service=${service}`] : []),
  ];
  const api = executor.engine?.(options.env);
  let ids: string[];
  if (api) {
    const listed = await api.get<{ Id: string }[]>('/containers/json', {
      all: options.runningOnly ? '0' : '1',
      ...filters({ label: labels }),
    });
    ids = (listed ?? []).map((container) => container.Id);
  } else {
    const args = [
      'ps',
      ...(options.runningOnly ? [] : ['-a']),
      '-q',
      '--no-trunc',
      ...labels.flatMap((label) => ['--filter', `label=${label}`]),
    ];
    const { stdout } = await executor.run('docker', args, { env: options.env });
    ids = stdout
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
  }
  const containers = await inspectContainers(executor, ids, options.env);
  return containers.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** The last lines a container wrote (stdout and stderr), for a failure report; '' when they cannot be read. */
export async function containerLogs(executor: HostExecutor, id: string, lines = 20): Promise<string> {
  const result = await executor
    .run('docker', ['logs', '--tail', String(lines), id], { okExitCodes: [0, 1], timeoutMs: 30_000 })
    .catch(() => undefined);
  if (!result || result.exitCode !== 0) return '';
  // docker logs replays the container's stdout and stderr on its own; order across the two is lost either way.
  return `${result.stdout}${result.stderr}`.trimEnd();
}

/**
 * `docker rm -f`, tried again while it fails: podman refuses to kill a crash-looping container
 * caught between exiting and being restarted ("container state improper"). Gone already counts as removed.
 */
export async function forceRemoveContainer(
  executor: HostExecutor,
  id: string,
  env?: Record<string, string | undefined>,
): Promise<void> {
  let last = '';
  for (let attempt = 1; attempt <= 10; attempt++) {
    const result = await executor.run('docker', ['rm', '-f', id], { env, okExitCodes: [0, 1], timeoutMs: 60_000 });
    if (result.exitCode === 0 || /no such container/i.test(result.stderr)) return;
    last = result.stderr.trim();
    await sleep(300);
  }
  throw new ActionError(`Could not remove container ${id.slice(0, 12)}: ${last}`);
}

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
  startedAt: string;
  labels: Record<string, string>;
}

interface InspectJson {
  Id: string;
  Name: string;
  Image: string;
  RestartCount?: number;
  Config: { Image: string; Labels?: Record<string, string> | null };
  State: { Status: string; Running: boolean; Restarting: boolean; ExitCode: number; StartedAt: string; Health?: { Status: string } | null };
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
    startedAt: json.State.StartedAt,
    labels: json.Config.Labels ?? {},
  };
}

export async function inspectContainers(executor: HostExecutor, ids: readonly string[], env?: Record<string, string | undefined>): Promise<ContainerInfo[]> {
  if (ids.length === 0) return [];
  const { stdout } = await executor.run('docker', ['container', 'inspect', ...ids], { env });
  return (JSON.parse(stdout) as InspectJson[]).map(parseInspect);
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
  const args = ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`];
  if (service) args.push('--filter', `label=com.docker.compose.service=${service}`);
  if (!options.runningOnly) args.splice(1, 0, '-a');
  const { stdout } = await executor.run('docker', args, { env: options.env });
  const ids = stdout.split('\n').map((line) => line.trim()).filter(Boolean);
  const containers = await inspectContainers(executor, ids, options.env);
  return containers.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

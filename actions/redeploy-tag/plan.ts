import { ActionError } from '../../shared/errors.js';

/**
 * What a strategy hands back to main: what ran before, what it will deploy, and (after execute)
 * what happened. Strategies differ in how they deploy; reporting, events and the GitHub
 * deployment are the same for all of them.
 */
export interface ServiceSnapshot {
  service: string;
  /** Image reference of the newest running container, e.g. registry/app:v1.2.0. */
  image?: string;
  tag?: string;
  /** Image ID, sha256:... */
  imageId?: string;
  /** Registry digest the service is pinned to (swarm resolves tags to digests when a registry serves them). */
  digest?: string;
  containerIds: string[];
}

export interface ServiceTarget {
  service: string;
  image?: string;
  imageId?: string;
  /** Registry digest of the image (sha256:...), from its RepoDigests; none for a locally built image. */
  digest?: string;
  pulled?: boolean;
}

export interface ServiceResult {
  service: string;
  from?: string;
  to: string;
  /** Containers running for the service at the end. */
  containerIds: string[];
  /** The last state seen, e.g. "running, healthy" or "healthcheck reports unhealthy". */
  health: string;
  ready: boolean;
  /** Time from the start of the action until the service was ready. */
  readyAfterMs?: number;
  /** Swarm: tasks the service should run, and how many run the expected image. */
  replicas?: { desired: number; running: number };
  /** Swarm: tasks of this change that failed, with the engine's error (or healthcheck output). */
  failedTasks?: { id: string; node?: string; error: string }[];
}

export type Outcome = 'deployed' | 'unchanged' | 'restored' | 'failed' | 'refused';

export interface RestoreReport {
  ok: boolean;
  detail: string;
  /** The services as restored (empty when nothing could be restored). */
  services: ServiceResult[];
}

export interface FailureLog {
  service: string;
  containerId: string;
  lines: string;
}

export interface RedeployReport {
  success: boolean;
  outcome: Outcome;
  /** The attempt, per service (a failed one stays here; the restore has its own). */
  /** Why it failed, for the error line (names the service). */
  failure?: string;
  hint?: string;
  services: ServiceResult[];
  /** What runs at the end (the new containers, the restored ones, or whatever is left). */
  current: ServiceSnapshot[];
  restore?: RestoreReport;
  logs: FailureLog[];
  /** Whether the ready-url answered 2xx (undefined when not given or not reached). */
  readyUrlOk?: boolean;
}

export interface PreparedRedeploy {
  /** "this runner" or "deploy@host:22". */
  host: string;
  /** "docker-compose 1.29.2 (v1)", or the command. */
  tool: string;
  previous: ServiceSnapshot[];
  targets: ServiceTarget[];
  /** Checks that the target image exists or can be pulled; throws, with nothing changed, when not. */
  verify(): Promise<void>;
  /** Throws RefusedError when the tool refused the change before acting. */
  execute(startedAt: number): Promise<RedeployReport>;
}

/**
 * The tool refused the change before it acted (compose reads and validates the whole project
 * before `up` stops or creates anything): reported like a refusal in verify, not as a redeploy
 * that stopped half-way, and nothing is restored.
 */
export class RefusedError extends ActionError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options);
    this.name = 'RefusedError';
  }
}

/** One tag for a set of services: theirs when they agree, else "svc=tag" pairs. */
export function commonTag(snapshots: readonly { service: string; tag?: string }[]): string | undefined {
  const tags = [...new Set(snapshots.map((snapshot) => snapshot.tag).filter((tag): tag is string => Boolean(tag)))];
  if (tags.length === 0) return undefined;
  if (tags.length === 1 && snapshots.every((snapshot) => snapshot.tag)) return tags[0];
  return snapshots.map((snapshot) => `${snapshot.service}=${snapshot.tag ?? ''}`).join(',');
}

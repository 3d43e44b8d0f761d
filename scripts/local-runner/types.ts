import type { ConcurrencyRegistry } from './concurrency.js';
import type { Json } from './expressions.js';
import type { Permissions } from './permissions.js';

/** The parts of GitHub's workflow syntax the local runner executes. */
export interface WorkflowFile {
  name?: string;
  'run-name'?: string;
  on?: Record<string, unknown> | string | string[];
  env?: Record<string, unknown>;
  permissions?: unknown;
  concurrency?: unknown;
  defaults?: { run?: { shell?: string; 'working-directory'?: string } };
  jobs: Record<string, JobSpec>;
}

export interface JobSpec {
  name?: string;
  needs?: string | string[];
  if?: string | boolean;
  'runs-on'?: unknown;
  environment?: string | { name: string; url?: string };
  concurrency?: unknown;
  permissions?: unknown;
  outputs?: Record<string, string>;
  env?: Record<string, unknown>;
  defaults?: { run?: { shell?: string; 'working-directory'?: string } };
  'timeout-minutes'?: number | string;
  'continue-on-error'?: boolean | string;
  steps?: StepSpec[];
  /** A reusable workflow call. */
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  strategy?: unknown;
  services?: unknown;
}

export interface StepSpec {
  id?: string;
  name?: string;
  if?: string | boolean;
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
  shell?: string;
  env?: Record<string, unknown>;
  'working-directory'?: string;
  'continue-on-error'?: boolean | string;
  'timeout-minutes'?: number | string;
}

export type Result = 'success' | 'failure' | 'skipped' | 'cancelled';

export interface StepRun {
  id: string;
  name: string;
  outcome: Result;
  conclusion: Result;
  outputs: Record<string, string>;
  startedAt: number;
  durationMs: number;
  errors: string[];
  /** Signals the runner sent to the step's process when it was cancelled (timeout), ms after its start. */
  signals: { signal: string; atMs: number }[];
}

export interface JobRun {
  id: string;
  name: string;
  /** What `needs.<job>.result` says: a failed job with continue-on-error reads as success there. */
  result: Result;
  /** What happened to the job itself (GitHub shows a failed continue-on-error job as failed). */
  outcome: Result;
  outputs: Record<string, string>;
  steps: StepRun[];
  startedAt: number;
  durationMs: number;
  summary: string;
  /** Errors of the job itself: cancellation, timeout, a call GitHub would refuse. */
  errors: string[];
  /** The environment the job ran in. */
  environment?: string;
  /** The GITHUB_TOKEN permissions the job ran with (undefined for a reusable-workflow call). */
  permissions?: Permissions;
  /** Names of the secrets the job could read, each with its value's source (repository, environment name, or caller). */
  secretSources?: Record<string, string>;
  /** Set for a job that called a reusable workflow. */
  called?: WorkflowRun;
}

export interface WorkflowRun {
  workflow: string;
  name: string;
  /** The top-level run's display title (run-name, or the workflow's name and run id). */
  runName?: string;
  conclusion: 'success' | 'failure' | 'cancelled';
  /** Why GitHub would not start the run at all (an invalid call), when it would not. */
  startupFailure?: string;
  /** Why the run was cancelled, when it was (a concurrency group). */
  cancelledBecause?: string;
  jobs: Record<string, JobRun>;
  outputs: Record<string, string>;
  startedAt: number;
  durationMs: number;
}

/** Secrets and variables scoped to an environment (Settings → Environments). */
export interface EnvironmentSettings {
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
}

/**
 * A repository on this machine: where `uses: owner/repo/path@ref` (actions and reusable workflows)
 * resolves, and how `actions/checkout` puts it into a workspace: a clone with all history and tags,
 * or links to some of its entries (the suite's live actions/ and dist/, so uncommitted builds run).
 */
export interface LocalRepository {
  dir: string;
  checkout: 'clone' | 'link';
  linkEntries?: string[];
  /** The commit a linked repository stands for (default: its HEAD). */
  sha?: string;
}

export interface RunOptions {
  /** The workflow file to run. */
  workflowPath: string;
  /** The repository that holds the workflow file (for ./ references to reusable workflows and actions). */
  workflowRepository: { name: string; dir: string };
  /** The repository the run belongs to (github.repository). */
  repository: string;
  eventName: string;
  eventPayload?: Record<string, Json>;
  /** github.ref (default refs/heads/main); github.sha is that ref's commit in the workflow's repository. */
  ref?: string;
  inputs?: Record<string, Json>;
  /** Repository (and organization) secrets. */
  secrets?: Record<string, string>;
  /** Repository (and organization) variables. */
  vars?: Record<string, string>;
  /** Environments by name: their secrets and variables reach only jobs that name them. */
  environments?: Record<string, EnvironmentSettings>;
  /** Concurrency groups shared with other runs of the same repository (default: this run's own). */
  concurrency?: ConcurrencyRegistry;
  /**
   * Mints the GITHUB_TOKEN of a job with these permissions (the GitHub stand-in's scoped tokens).
   * Without it every job gets secrets.GITHUB_TOKEN.
   */
  tokenFor?: (permissions: Permissions) => string;
  /** The repository's default token permissions: restricted (GitHub's default) or permissive. */
  defaultPermissions?: 'restricted' | 'permissive';
  /** Waits this long before each job that runs on a runner, as a runner's queueing and set-up take. */
  jobStartLatencyMs?: number;
  /** Environment every process gets on top of a minimal base (DOCKER_HOST, stand-in URLs, PATH...). */
  env?: Record<string, string>;
  repositories: Record<string, LocalRepository>;
  /** Working root: each job gets a workspace below it. */
  runRoot: string;
  runId?: number;
  log?: (line: string) => void;
  /** Local images for `services:` containers, by image name without tag (e.g. postgres). */
  serviceImages?: Record<string, string>;
  /** A service image not in serviceImages runs as the workflow names it (the engine has it or pulls it, as a runner does) instead of failing the job. */
  serviceImagesAsNamed?: boolean;
  /**
   * The environment's protection rule (required reviewers), asked before a job that names an
   * environment starts, with the jobs done so far (the plan). false rejects it: the job fails, as
   * a rejected deployment review fails it on GitHub. Without it no job waits.
   */
  environmentGate?: (request: GateRequest) => Promise<boolean>;
}

export interface GateRequest {
  jobId: string;
  jobName: string;
  environment: string;
  done: Record<string, JobRun>;
}

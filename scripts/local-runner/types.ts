import type { Json } from './expressions.js';

/** The parts of GitHub's workflow syntax the local runner executes. */
export interface WorkflowFile {
  name?: string;
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
  'timeout-minutes'?: number;
  'continue-on-error'?: boolean;
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
  'timeout-minutes'?: number;
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
}

export interface JobRun {
  id: string;
  name: string;
  result: Result;
  outputs: Record<string, string>;
  steps: StepRun[];
  startedAt: number;
  durationMs: number;
  summary: string;
  /** Set for a job that called a reusable workflow. */
  called?: WorkflowRun;
}

export interface WorkflowRun {
  workflow: string;
  name: string;
  conclusion: 'success' | 'failure';
  jobs: Record<string, JobRun>;
  outputs: Record<string, string>;
  startedAt: number;
  durationMs: number;
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
  inputs?: Record<string, Json>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  /** Environment every process gets on top of a minimal base (DOCKER_HOST, stand-in URLs, PATH...). */
  env?: Record<string, string>;
  repositories: Record<string, LocalRepository>;
  /** Working root: each job gets a workspace below it. */
  runRoot: string;
  runId?: number;
  log?: (line: string) => void;
  /** Local images for `services:` containers, by image name without tag (e.g. postgres). */
  serviceImages?: Record<string, string>;
}

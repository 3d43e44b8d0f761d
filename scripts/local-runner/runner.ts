import { randomBytes } from 'node:crypto';
import { runProcess } from '../../shared/process.js';
import { Cancellation, sleep } from './cancellation.js';
import { ConcurrencyRegistry } from './concurrency.js';
import {
  condition,
  interpolate,
  interpolateString,
  NO_STATUS,
  type Contexts,
  type Json,
  type StatusFunctions,
} from './expressions.js';
import { goDuration, runJob, timeoutMinutes } from './job.js';
import { defaultPermissions, exceeds, parsePermissions, type Permissions } from './permissions.js';
import { jobSecrets, jobVars, passedSecrets, secretMasks, type SecretScope } from './scopes.js';
import type { JobRun, JobSpec, Result, RunOptions, WorkflowFile, WorkflowRun } from './types.js';
import { calledSource, topLevelSource, workflowRef, type WorkflowSource } from './workflow-source.js';

/**
 * Runs a workflow file on this machine the way GitHub runs it, for the parts our workflows use:
 * jobs in parallel as soon as their `needs` are done, `if:` with success()/failure()/cancelled()
 * over every ancestor job, reusable workflows (inputs, secrets, outputs, the caller's event and
 * payload, permissions no wider than the caller's), environments with their own secrets and
 * variables, a GITHUB_TOKEN per job with the job's permissions, concurrency groups shared across
 * runs, job and step timeouts that stop a step as the runner does, run steps in bash, local node
 * actions, service containers, and stand-ins for actions/checkout and actions/upload-artifact.
 * Expressions are evaluated with GitHub's own expression library. It exists so `npm run demo` and
 * the end-to-end tests execute the real workflow files, wiring included, not a copy of their logic.
 * What still differs from GitHub is listed in scripts/local-runner/README.md.
 */

function nothingToRelease(): void {}

/** GitHub's default job timeout: 360 minutes. */
const DEFAULT_JOB_TIMEOUT_MINUTES = 360;

interface RunState {
  options: RunOptions;
  registry: ConcurrencyRegistry;
  /** The github context every job of the run (called workflows included) starts from. */
  github: Record<string, Json>;
  log: (line: string) => void;
}

interface Frame {
  source: WorkflowSource;
  inputs: Record<string, Json>;
  secrets: SecretScope;
  /** The calling job's permissions: no nested job may ask for more (undefined at top level). */
  ceiling?: Permissions;
  /** Concurrency groups the enclosing runs hold (a call needing one of them is a deadlock). */
  held: string[];
  parentCancellation?: Cancellation;
  /** The run in messages: the workflow's name, or the calling job's id for a called workflow. */
  label: string;
  /** The run among others: its run name, then " › job" down to the calling job. */
  id: string;
  depth: number;
}

export function needsOf(job: JobSpec): string[] {
  if (!job.needs) return [];
  return Array.isArray(job.needs) ? job.needs : [job.needs];
}

/** Jobs in an order that respects `needs` (each after the jobs it needs). */
export function jobOrder(workflow: WorkflowFile): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (id: string) => {
    if (order.includes(id)) return;
    if (visiting.has(id)) throw new Error(`needs cycle at job "${id}"`);
    if (!workflow.jobs[id]) throw new Error(`job needs unknown job "${id}"`);
    visiting.add(id);
    needsOf(workflow.jobs[id]).forEach(visit);
    visiting.delete(id);
    order.push(id);
  };
  Object.keys(workflow.jobs).forEach(visit);
  return order;
}

type TriggerSpec = {
  inputs?: Record<string, InputSpec>;
  secrets?: Record<string, { required?: boolean }>;
  outputs?: Record<string, { value: string }>;
} | null;
interface InputSpec {
  default?: unknown;
  type?: string;
  required?: boolean;
}

function triggers(workflow: WorkflowFile): Record<string, TriggerSpec> {
  const on = workflow.on;
  if (typeof on === 'string') return { [on]: null };
  if (Array.isArray(on)) return Object.fromEntries(on.map((name) => [name, null]));
  return (on ?? {}) as Record<string, TriggerSpec>;
}

function typed(name: string, spec: InputSpec, value: Json, where: string): Json {
  if (spec.type === 'boolean') {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new Error(`${where}: input "${name}" is a boolean; got ${JSON.stringify(value)}`);
  }
  if (spec.type === 'number') {
    const number = Number(value);
    if (!Number.isFinite(number))
      throw new Error(`${where}: input "${name}" is a number; got ${JSON.stringify(value)}`);
    return number;
  }
  return value;
}

/** Inputs of a trigger with their declared defaults and types; undeclared or missing required ones fail as GitHub fails them. */
function resolveInputs(
  declared: Record<string, InputSpec>,
  given: Record<string, Json>,
  where: string,
): Record<string, Json> {
  for (const name of Object.keys(given)) {
    if (!(name in declared))
      throw new Error(`${where}: Invalid input, ${name} is not defined in the referenced workflow.`);
  }
  const resolved: Record<string, Json> = {};
  for (const [name, spec] of Object.entries(declared)) {
    if (!(name in given) && spec?.required && spec.default === undefined)
      throw new Error(`${where}: Input ${name} is required, but not provided while calling.`);
    const value =
      given[name] ??
      (spec?.default as Json | undefined) ??
      (spec?.type === 'boolean' ? false : spec?.type === 'number' ? 0 : '');
    resolved[name] = typed(name, spec ?? {}, value, where);
  }
  return resolved;
}

async function commitOf(dir: string, ref: string): Promise<string | undefined> {
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  const { stdout } = await runProcess('git', ['-C', dir, 'rev-parse', '--verify', '--quiet', `${name}^{commit}`], {
    okExitCodes: [0, 1, 128],
  });
  return stdout.trim() || undefined;
}

/** The permissions a job runs with: its own, else its workflow's, else the caller's ceiling, else the repository default. */
function jobPermissions(
  options: RunOptions,
  workflow: WorkflowFile,
  jobId: string,
  spec: JobSpec,
  ceiling: Permissions | undefined,
): Permissions {
  return (
    parsePermissions(spec.permissions, `job ${jobId}`) ??
    parsePermissions(workflow.permissions, 'workflow') ??
    ceiling ??
    defaultPermissions(options.defaultPermissions ?? 'restricted')
  );
}

/**
 * What GitHub checks before it starts a run (an invalid call is a startup failure: no job runs):
 * every reusable workflow exists, gets its required inputs and secrets and no undeclared ones, and
 * none of its jobs asks for more token permissions than its calling job has.
 */
async function startupProblem(
  options: RunOptions,
  source: WorkflowSource,
  ceiling: Permissions | undefined,
): Promise<string | undefined> {
  for (const [jobId, spec] of Object.entries(source.workflow.jobs)) {
    if (!spec.uses) continue;
    let callee: WorkflowSource;
    try {
      callee = await calledSource(options, source, spec.uses);
    } catch (error) {
      return `Error calling workflow '${spec.uses}': ${(error as Error).message}`;
    }
    const calling = `Error calling workflow '${callee.repository}/${callee.file}@${callee.sha}'.`;
    const call = triggers(callee.workflow).workflow_call;
    if (call === undefined) return `${calling} The workflow has no on.workflow_call trigger.`;
    const inputs = call?.inputs ?? {};
    for (const name of Object.keys(spec.with ?? {}))
      if (!(name in inputs)) return `${calling} Invalid input, ${name} is not defined in the referenced workflow.`;
    for (const [name, input] of Object.entries(inputs))
      if (input?.required && input.default === undefined && !(name in (spec.with ?? {})))
        return `${calling} Input ${name} is required, but not provided while calling.`;
    if (spec.secrets !== 'inherit') {
      const secrets = call?.secrets ?? {};
      for (const name of Object.keys(spec.secrets ?? {}))
        if (!(name in secrets)) return `${calling} Invalid secret, ${name} is not defined in the referenced workflow.`;
      for (const [name, secret] of Object.entries(secrets))
        if (secret?.required && !(name in (spec.secrets ?? {})))
          return `${calling} Secret ${name} is required, but not provided while calling.`;
    }
    const allowed = jobPermissions(options, source.workflow, jobId, spec, ceiling);
    for (const [nestedId, nested] of Object.entries(callee.workflow.jobs)) {
      const requested = jobPermissions(options, callee.workflow, nestedId, nested, allowed);
      const excess = exceeds(requested, allowed);
      if (excess) return `${calling} The nested job '${nestedId}' is requesting ${excess}.`;
    }
    const nested = await startupProblem(options, callee, allowed);
    if (nested) return nested;
  }
  return undefined;
}

export async function runWorkflow(options: RunOptions): Promise<WorkflowRun> {
  const log = options.log ?? (() => undefined);
  const source = await topLevelSource(options);
  const declared = triggers(source.workflow);
  if (!(options.eventName in declared))
    throw new Error(
      `${source.file} does not run on "${options.eventName}" (its triggers: ${Object.keys(declared).join(', ')})`,
    );
  const runId = options.runId ?? Number.parseInt(randomBytes(3).toString('hex'), 16);
  const ref = options.ref ?? 'refs/heads/main';
  const inputs = resolveInputs(declared[options.eventName]?.inputs ?? {}, options.inputs ?? {}, source.file);
  const event =
    options.eventPayload ??
    (options.eventName === 'workflow_dispatch'
      ? { inputs: Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, String(value)])) }
      : {});
  const github: Record<string, Json> = {
    event_name: options.eventName,
    event: event as Json,
    repository: options.repository,
    repository_owner: options.repository.split('/')[0],
    run_id: String(runId),
    run_number: '1',
    run_attempt: '1',
    ref,
    ref_name: ref.replace(/^refs\/(heads|tags)\//, ''),
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha: (await commitOf(options.workflowRepository.dir, ref)) ?? source.sha,
    actor: 'octocat',
    triggering_actor: 'octocat',
    workflow: source.workflow.name ?? source.file,
    workflow_ref: workflowRef({ ...source, ref }),
    workflow_sha: source.sha,
    server_url: options.env?.GITHUB_SERVER_URL ?? 'https://github.com',
    api_url: options.env?.GITHUB_API_URL ?? 'https://api.github.com',
  };
  const state: RunState = { options, registry: options.concurrency ?? new ConcurrencyRegistry(), github, log };
  log(`▶ workflow ${github.workflow} (${options.eventName})`);
  const problem = await startupProblem(options, source, undefined);
  if (problem) {
    log(`✗ ${problem}`);
    return {
      workflow: source.file,
      name: String(github.workflow),
      conclusion: 'failure',
      startupFailure: problem,
      jobs: {},
      outputs: {},
      startedAt: Date.now(),
      durationMs: 0,
    };
  }
  // The run as GitHub lists it: its run-name (github, inputs and vars), else the workflow's name.
  const runName = source.workflow['run-name']
    ? interpolateString(source.workflow['run-name'], { github, inputs, vars: options.vars ?? {} }, NO_STATUS)
    : `${github.workflow} #${runId}`;
  const run = await runFile(state, {
    source: { ...source, ref },
    inputs,
    secrets: { kind: 'repository', values: options.secrets ?? {} },
    held: [],
    label: runName,
    id: runName,
    depth: 0,
  });
  return { ...run, runName };
}

/** A concurrency value (a group string or {group, cancel-in-progress}) evaluated; undefined when absent. */
function concurrencyOf(spec: unknown, contexts: Contexts): { group: string; cancelInProgress: boolean } | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (typeof spec === 'string') return { group: interpolateString(spec, contexts, NO_STATUS), cancelInProgress: false };
  const mapping = spec as { group: string; 'cancel-in-progress'?: unknown };
  const cancel = interpolate(mapping['cancel-in-progress'] ?? false, contexts, NO_STATUS);
  return {
    group: interpolateString(mapping.group, contexts, NO_STATUS),
    cancelInProgress: cancel === true || cancel === 'true',
  };
}

async function runFile(state: RunState, frame: Frame): Promise<WorkflowRun> {
  const { options, log } = state;
  const { workflow } = frame.source;
  const pad = '  '.repeat(frame.depth);
  const started = Date.now();
  const name = workflow.name ?? frame.source.file;
  const cancellation = new Cancellation(frame.parentCancellation);
  const held = [...frame.held];
  let release = nothingToRelease;
  const runConcurrency = concurrencyOf(workflow.concurrency, {
    github: state.github,
    inputs: frame.inputs,
    vars: options.vars ?? {},
  });
  if (runConcurrency) {
    const acquired = await state.registry.acquire(
      runConcurrency.group,
      { label: frame.label, id: frame.id, cancelRunning: (reason) => cancellation.cancel(reason) },
      { cancelInProgress: runConcurrency.cancelInProgress, held },
    );
    if (!acquired.acquired) {
      log(`${pad}○ workflow ${name}: ${acquired.reason}`);
      return {
        workflow: frame.source.file,
        name,
        conclusion: 'cancelled',
        cancelledBecause: acquired.reason,
        jobs: {},
        outputs: {},
        startedAt: started,
        durationMs: Date.now() - started,
      };
    }
    release = acquired.release;
    held.push(runConcurrency.group);
  }
  try {
    const jobs = await runJobs(state, { ...frame, held }, cancellation);
    const results = Object.values(jobs).map((job) => job.result);
    const conclusion = results.includes('failure')
      ? 'failure'
      : cancellation.cancelled || results.includes('cancelled')
        ? 'cancelled'
        : 'success';
    const outputs: Record<string, string> = {};
    const jobsContext: Record<string, Json> = Object.fromEntries(
      Object.entries(jobs).map(([id, job]) => [id, { result: job.result, outputs: job.outputs }]),
    );
    for (const [outputName, output] of Object.entries(triggers(workflow).workflow_call?.outputs ?? {})) {
      outputs[outputName] = interpolateString(
        output.value,
        { github: state.github, inputs: frame.inputs, jobs: jobsContext, vars: options.vars ?? {} },
        NO_STATUS,
      );
    }
    return {
      workflow: frame.source.file,
      name,
      conclusion,
      cancelledBecause: cancellation.reason,
      jobs,
      outputs,
      startedAt: started,
      durationMs: Date.now() - started,
    };
  } finally {
    release();
  }
}

async function runJobs(state: RunState, frame: Frame, cancellation: Cancellation): Promise<Record<string, JobRun>> {
  const { workflow } = frame.source;
  const order = jobOrder(workflow);
  const results: Record<string, JobRun> = {};
  const ancestors = (id: string): string[] => {
    const found = new Set<string>();
    const visit = (job: string) =>
      needsOf(workflow.jobs[job]).forEach((need) => {
        found.add(need);
        visit(need);
      });
    visit(id);
    return [...found];
  };
  const finished = new Map<string, Promise<void>>();
  for (const id of order) {
    finished.set(
      id,
      (async () => {
        await Promise.all(needsOf(workflow.jobs[id]).map((need) => finished.get(need)));
        const before = ancestors(id);
        const status: StatusFunctions = {
          success: () => !cancellation.cancelled && before.every((need) => results[need].result === 'success'),
          failure: () => before.some((need) => results[need].result === 'failure'),
          cancelled: () => cancellation.cancelled,
        };
        results[id] = await runOneJob(state, frame, id, status, results, cancellation);
      })(),
    );
  }
  await Promise.all(finished.values());
  return Object.fromEntries(order.map((id) => [id, results[id]]));
}

async function runOneJob(
  state: RunState,
  frame: Frame,
  jobId: string,
  status: StatusFunctions,
  done: Record<string, JobRun>,
  runCancellation: Cancellation,
): Promise<JobRun> {
  const { options, log } = state;
  const { workflow } = frame.source;
  const spec = workflow.jobs[jobId];
  const pad = '  '.repeat(frame.depth + 1);
  const needs: Record<string, Json> = Object.fromEntries(
    needsOf(spec).map((need) => [need, { result: done[need].result, outputs: done[need].outputs }]),
  );
  const github = { ...state.github, job: jobId };
  const outer: Contexts = { github, inputs: frame.inputs, vars: options.vars ?? {}, needs, strategy: {}, matrix: {} };
  const name = spec.name ? interpolateString(spec.name, outer, status) : jobId;
  const started = Date.now();
  const base = {
    id: jobId,
    name,
    outputs: {},
    steps: [],
    startedAt: started,
    durationMs: 0,
    summary: '',
    errors: [] as string[],
  };
  if (!condition(spec.if, outer, status)) {
    const result: Result = runCancellation.cancelled ? 'cancelled' : 'skipped';
    log(`${pad}○ job ${name}: ${result}`);
    return { ...base, result, outcome: result };
  }

  const jobCancellation = new Cancellation(runCancellation);
  const jobConcurrency = concurrencyOf(spec.concurrency, outer);
  let release = nothingToRelease;
  const held = [...frame.held];
  if (jobConcurrency) {
    const acquired = await state.registry.acquire(
      jobConcurrency.group,
      { label: jobId, id: `${frame.id} › ${jobId}`, cancelRunning: (reason) => jobCancellation.cancel(reason) },
      { cancelInProgress: jobConcurrency.cancelInProgress, held },
    );
    if (!acquired.acquired) {
      log(`${pad}○ job ${name}: ${acquired.reason}`);
      return {
        ...base,
        result: 'cancelled',
        outcome: 'cancelled',
        errors: [acquired.reason],
        durationMs: Date.now() - started,
      };
    }
    release = acquired.release;
    held.push(jobConcurrency.group);
  }
  try {
    const rejected = spec.uses ? undefined : await gateRejection(state, jobId, name, spec, outer, done);
    if (rejected) {
      log(`${pad}✗ job ${name}: ${rejected}`);
      return { ...base, result: 'failure', outcome: 'failure', errors: [rejected], durationMs: Date.now() - started };
    }
    const run = spec.uses
      ? await callWorkflow(state, frame, jobId, spec, outer, status, held, jobCancellation)
      : await runnerJob(state, frame, jobId, spec, outer, jobCancellation);
    const continueOnError =
      spec['continue-on-error'] !== undefined &&
      [true, 'true'].includes(interpolate(spec['continue-on-error'], outer, NO_STATUS) as never);
    const result: Result = run.outcome === 'failure' && continueOnError ? 'success' : run.outcome;
    const job: JobRun = { ...base, ...run, name, result, durationMs: Date.now() - started };
    log(
      `${pad}${job.outcome === 'success' ? '✓' : job.outcome === 'failure' ? '✗' : '○'} job ${name}: ${job.outcome}${result !== job.outcome ? ` (continue-on-error: ${result})` : ''} (${(job.durationMs / 1000).toFixed(1)}s)`,
    );
    return job;
  } finally {
    release();
  }
}

function environmentOf(spec: JobSpec, contexts: Contexts): string | undefined {
  return spec.environment
    ? interpolateString(
        typeof spec.environment === 'string' ? spec.environment : spec.environment.name,
        contexts,
        NO_STATUS,
      )
    : undefined;
}

/** Why the environment's gate (options.environmentGate) rejected the job, or undefined when it may run. */
async function gateRejection(
  state: RunState,
  jobId: string,
  jobName: string,
  spec: JobSpec,
  outer: Contexts,
  done: Record<string, JobRun>,
): Promise<string | undefined> {
  const environment = environmentOf(spec, outer);
  if (!environment || !state.options.environmentGate) return undefined;
  const approved = await state.options.environmentGate({ jobId, jobName, environment, done });
  return approved ? undefined : `Rejected at the ${environment} environment's gate: the deployment was not approved.`;
}

type JobResultParts = Pick<
  JobRun,
  'outcome' | 'outputs' | 'steps' | 'summary' | 'errors' | 'environment' | 'permissions' | 'secretSources' | 'called'
>;

async function callWorkflow(
  state: RunState,
  frame: Frame,
  jobId: string,
  spec: JobSpec,
  contexts: Contexts,
  status: StatusFunctions,
  held: string[],
  cancellation: Cancellation,
): Promise<JobResultParts> {
  const { options, log } = state;
  const callee = await calledSource(options, frame.source, spec.uses!);
  const where = `job ${jobId} calling ${spec.uses}`;
  const given: Record<string, Json> = {};
  for (const [name, value] of Object.entries(spec.with ?? {})) given[name] = interpolate(value, contexts, status);
  const callerSecrets = jobSecrets(frame.secrets, undefined).values;
  let secrets: SecretScope;
  if (spec.secrets === 'inherit') {
    secrets = frame.secrets.kind === 'passed' ? frame.secrets : passedSecrets(true, callerSecrets);
  } else {
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(spec.secrets ?? {}))
      values[name] = interpolateString(value, { ...contexts, secrets: callerSecrets }, status);
    secrets = passedSecrets(false, values);
  }
  const permissions = jobPermissions(options, frame.source.workflow, jobId, spec, frame.ceiling);
  try {
    const inputs = resolveInputs(triggers(callee.workflow).workflow_call?.inputs ?? {}, given, where);
    const called = await runFile(state, {
      source: callee,
      inputs,
      secrets,
      ceiling: permissions,
      held,
      parentCancellation: cancellation,
      label: jobId,
      id: `${frame.id} › ${jobId}`,
      depth: frame.depth + 2,
    });
    const outcome: Result = called.conclusion;
    return {
      outcome,
      outputs: called.outputs,
      steps: [],
      summary: Object.values(called.jobs)
        .map((job) => job.summary)
        .join(''),
      errors: called.cancelledBecause ? [called.cancelledBecause] : [],
      called,
    };
  } catch (error) {
    log(`${'  '.repeat(frame.depth + 2)}Error: ${(error as Error).message}`);
    return { outcome: 'failure', outputs: {}, steps: [], summary: '', errors: [(error as Error).message] };
  }
}

async function runnerJob(
  state: RunState,
  frame: Frame,
  jobId: string,
  spec: JobSpec,
  outer: Contexts,
  cancellation: Cancellation,
): Promise<JobResultParts> {
  const { options } = state;
  const pad = '  '.repeat(frame.depth + 2);
  const log = (line: string) => state.log(`${pad}[${jobId}] ${line}`);
  const environmentName = environmentOf(spec, outer);
  const environment = environmentName
    ? { name: environmentName, settings: options.environments?.[environmentName] ?? {} }
    : undefined;
  if (environmentName)
    log(`environment: ${environmentName} (on GitHub its protection rules, such as required reviewers, gate this job)`);
  const secrets = jobSecrets(frame.secrets, environment);
  const permissions = jobPermissions(options, frame.source.workflow, jobId, spec, frame.ceiling);
  const token = options.tokenFor?.(permissions) ?? options.secrets?.GITHUB_TOKEN ?? '';
  const masks = new Set<string>([...Object.values(secrets.values), token].flatMap(secretMasks));
  const github = { ...(outer.github as Record<string, Json>), token };
  const { source } = frame;
  const contexts: Contexts = {
    ...outer,
    github,
    vars: jobVars(options.vars ?? {}, environment?.settings),
    secrets: { ...secrets.values, GITHUB_TOKEN: token },
    job: {
      status: 'success',
      workflow_repository: source.repository,
      workflow_sha: source.sha,
      workflow_ref: workflowRef(source),
      workflow_file_path: source.file,
    },
    runner: { os: 'Linux', arch: 'X64', name: 'local-runner', temp: '' },
  };
  const minutes = timeoutMinutes(spec['timeout-minutes'], outer, DEFAULT_JOB_TIMEOUT_MINUTES)!;
  const timeoutMessage = `The job has exceeded the maximum execution time of ${goDuration(minutes)}`;
  const timer = setTimeout(() => cancellation.cancel(timeoutMessage), minutes * 60_000);
  const common = { environment: environmentName, permissions, secretSources: secrets.sources };
  try {
    if (options.jobStartLatencyMs) await sleep(options.jobStartLatencyMs, cancellation);
    const outcome = await runJob({
      options,
      source,
      workflow: source.workflow,
      jobId,
      spec,
      contexts,
      masks,
      cancellation,
      log,
    });
    const errors = cancellation.cancelled ? [cancellation.reason!, ...outcome.errors] : outcome.errors;
    if (cancellation.cancelled) log(`Error: ${cancellation.reason}`);
    return {
      ...common,
      outcome: outcome.result,
      outputs: outcome.outputs,
      steps: outcome.steps,
      summary: outcome.summary,
      errors,
    };
  } catch (error) {
    log(`Error: ${(error as Error).message}`);
    return { ...common, outcome: 'failure', outputs: {}, steps: [], summary: '', errors: [(error as Error).message] };
  } finally {
    clearTimeout(timer);
  }
}

import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { builtinFor } from './builtin-actions.js';
import { condition, interpolate, interpolateString, type Contexts, type Json, type StatusFunctions } from './expressions.js';
import { inputEnvName } from './protocol.js';
import { startServices, type ServiceSpec } from './services.js';
import { runStepProcess } from './step-process.js';
import type { JobRun, JobSpec, Result, RunOptions, StepRun, StepSpec, WorkflowFile, WorkflowRun } from './types.js';

/**
 * Runs a workflow file on this machine the way GitHub runs it, for the parts our workflows use:
 * jobs in `needs` order with `if:` conditions, reusable workflow calls with inputs, secrets and
 * outputs, `run:` steps in bash, local node actions (`uses: ./actions/x`, their dist bundle with
 * INPUT_* variables and action.yml defaults), and local stand-ins for actions/checkout. Expressions
 * are evaluated with GitHub's own expression library. It exists so `npm run demo` and the
 * end-to-end tests execute the real workflow files, wiring included, not a copy of their logic.
 */

interface JobState {
  spec: JobSpec;
  workspace: string;
  runnerTemp: string;
  env: Record<string, string>;
  addedPath: string[];
  steps: Record<string, { outputs: Record<string, string>; outcome: Result; conclusion: Result }>;
  masks: Set<string>;
  summaryFile: string;
  /** GITHUB_EVENT_PATH: the event payload, written once when the job starts. */
  eventPath: string;
}

const BASE_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER'];

/**
 * Where a `uses:` reference points on this machine: "./x" in the repository of the calling
 * workflow, "owner/repo/path@ref" in the local copy of owner/repo (any ref: the copy is the code).
 */
function resolveUses(options: RunOptions, uses: string, caller: { name: string; dir: string }): { repository: { name: string; dir: string }; file: string } {
  if (uses.startsWith('./')) return { repository: caller, file: uses };
  const match = /^([^/@]+\/[^/@]+)(?:\/([^@]*))?@(.+)$/.exec(uses);
  const local = match ? options.repositories[match[1]] : undefined;
  if (!match || !local) throw new Error(`${uses} has no local copy (known: ${Object.keys(options.repositories).join(', ')}); the local runner runs local repositories and actions/checkout only.`);
  return { repository: { name: match[1], dir: local.dir }, file: match[2] ?? '.' };
}

export function loadWorkflow(file: string): WorkflowFile {
  return parseYaml(readFileSync(file, 'utf8')) as WorkflowFile;
}

function needsOf(job: JobSpec): string[] {
  if (!job.needs) return [];
  return Array.isArray(job.needs) ? job.needs : [job.needs];
}

/** Jobs in an order that respects `needs` (GitHub runs independent ones in parallel; order is irrelevant to results). */
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

function workflowCallSpec(workflow: WorkflowFile): { inputs: Record<string, { default?: unknown; type?: string }>; outputs: Record<string, { value: string }> } {
  const on = workflow.on as Record<string, { inputs?: Record<string, { default?: unknown; type?: string }>; outputs?: Record<string, { value: string }> } | null> | undefined;
  return { inputs: on?.workflow_call?.inputs ?? {}, outputs: on?.workflow_call?.outputs ?? {} };
}

function triggerInputs(workflow: WorkflowFile, eventName: string): Record<string, { default?: unknown; type?: string }> {
  const on = workflow.on as Record<string, { inputs?: Record<string, { default?: unknown; type?: string }> } | null> | undefined;
  return on?.[eventName]?.inputs ?? {};
}

/** Inputs with their declared defaults and types (booleans stay booleans in the inputs context). */
function resolveInputs(workflow: WorkflowFile, eventName: string, given: Record<string, Json>): Record<string, Json> {
  const declared = triggerInputs(workflow, eventName);
  const resolved: Record<string, Json> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value = given[name] ?? (spec?.default as Json | undefined) ?? (spec?.type === 'boolean' ? false : '');
    resolved[name] = spec?.type === 'boolean' ? value === true || value === 'true' : spec?.type === 'number' ? Number(value) : (value as Json);
  }
  for (const name of Object.keys(given)) {
    if (!(name in declared)) throw new Error(`workflow does not declare input "${name}" for ${eventName}`);
  }
  return resolved;
}

function baseEnv(options: RunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of BASE_ENV_KEYS) if (process.env[key]) env[key] = process.env[key]!;
  return { ...env, ...options.env };
}

export async function runWorkflow(options: RunOptions, depth = 0): Promise<WorkflowRun> {
  const log = options.log ?? (() => undefined);
  const workflow = loadWorkflow(options.workflowPath);
  const started = Date.now();
  const runId = options.runId ?? Number.parseInt(randomBytes(3).toString('hex'), 16);
  const inputs = resolveInputs(workflow, options.eventName, options.inputs ?? {});
  const workflowFile = path.relative(options.workflowRepository.dir, options.workflowPath);
  const github: Record<string, Json> = {
    event_name: options.eventName,
    event: (options.eventPayload ?? {}) as Json,
    repository: options.repository,
    repository_owner: options.repository.split('/')[0],
    run_id: String(runId),
    run_number: '1',
    run_attempt: '1',
    ref: 'refs/heads/main',
    ref_name: 'main',
    sha: '0'.repeat(40),
    actor: 'octocat',
    workflow: workflow.name ?? workflowFile,
    workflow_ref: `${options.workflowRepository.name}/${workflowFile}@refs/heads/main`,
    server_url: options.env?.GITHUB_SERVER_URL ?? 'https://github.com',
    api_url: options.env?.GITHUB_API_URL ?? 'https://api.github.com',
    token: options.secrets?.GITHUB_TOKEN ?? '',
  };
  const jobs: Record<string, JobRun> = {};
  log(`${'  '.repeat(depth)}▶ workflow ${workflow.name ?? workflowFile} (${options.eventName})`);

  for (const jobId of jobOrder(workflow)) {
    const spec = workflow.jobs[jobId];
    const needs: Record<string, Json> = {};
    for (const need of needsOf(spec)) needs[need] = { result: jobs[need].result, outputs: jobs[need].outputs };
    const needResults = needsOf(spec).map((need) => jobs[need].result);
    const jobStatus: StatusFunctions = {
      success: () => needResults.every((result) => result === 'success'),
      failure: () => needResults.includes('failure'),
    };
    const contexts: Contexts = {
      github,
      inputs,
      secrets: options.secrets ?? {},
      vars: options.vars ?? {},
      needs,
      env: {},
      job: { status: 'success', workflow_repository: options.workflowRepository.name, workflow_sha: '0'.repeat(40) },
      runner: { os: 'Linux', arch: 'X64', temp: os.tmpdir() },
    };
    const jobName = spec.name ? interpolateString(spec.name, contexts, jobStatus) : jobId;
    const jobStarted = Date.now();
    // No `if:` means success(): every needed job succeeded.
    if (!condition(spec.if, contexts, jobStatus)) {
      jobs[jobId] = { id: jobId, name: jobName, result: 'skipped', outputs: {}, steps: [], startedAt: jobStarted, durationMs: 0, summary: '' };
      log(`${'  '.repeat(depth + 1)}○ job ${jobName}: skipped`);
      continue;
    }
    log(`${'  '.repeat(depth + 1)}● job ${jobName}`);
    if (spec.environment) {
      const name = typeof spec.environment === 'string' ? spec.environment : spec.environment.name;
      log(`${'  '.repeat(depth + 2)}environment: ${interpolateString(name, contexts, jobStatus)} (on GitHub its protection rules, such as required reviewers, gate this job)`);
    }
    jobs[jobId] = spec.uses
      ? await runCalledWorkflow(options, jobId, jobName, spec, contexts, jobStatus, depth)
      : await runJob(options, workflow, jobId, jobName, spec, contexts, depth);
    log(`${'  '.repeat(depth + 1)}${jobs[jobId].result === 'success' ? '✓' : '✗'} job ${jobName}: ${jobs[jobId].result} (${(jobs[jobId].durationMs / 1000).toFixed(1)}s)`);
  }

  const conclusion = Object.values(jobs).some((job) => job.result === 'failure') ? 'failure' : 'success';
  const outputs: Record<string, string> = {};
  const jobsContext: Record<string, Json> = Object.fromEntries(Object.entries(jobs).map(([id, job]) => [id, { result: job.result, outputs: job.outputs }]));
  for (const [name, output] of Object.entries(workflowCallSpec(workflow).outputs)) {
    outputs[name] = interpolateString(output.value, { github, inputs, jobs: jobsContext, vars: options.vars ?? {} }, { success: () => true, failure: () => false });
  }
  return { workflow: workflowFile, name: workflow.name ?? workflowFile, conclusion, jobs, outputs, startedAt: started, durationMs: Date.now() - started };
}

async function runCalledWorkflow(
  options: RunOptions,
  jobId: string,
  jobName: string,
  spec: JobSpec,
  contexts: Contexts,
  status: StatusFunctions,
  depth: number,
): Promise<JobRun> {
  const started = Date.now();
  const { repository, file } = resolveUses(options, spec.uses!, options.workflowRepository);
  const called = path.join(repository.dir, file);
  const inputs: Record<string, Json> = {};
  for (const [name, value] of Object.entries(spec.with ?? {})) inputs[name] = interpolate(value, contexts, status);
  const secrets: Record<string, string> = {};
  if (spec.secrets === 'inherit') Object.assign(secrets, options.secrets ?? {});
  else for (const [name, value] of Object.entries(spec.secrets ?? {})) secrets[name] = interpolateString(value, contexts, status);
  if (options.secrets?.GITHUB_TOKEN) secrets.GITHUB_TOKEN = options.secrets.GITHUB_TOKEN;
  const run = await runWorkflow(
    { ...options, workflowPath: called, workflowRepository: repository, eventName: 'workflow_call', inputs, secrets, runRoot: path.join(options.runRoot, jobId) },
    depth + 2,
  );
  return {
    id: jobId,
    name: jobName,
    result: run.conclusion,
    outputs: run.outputs,
    steps: [],
    startedAt: started,
    durationMs: Date.now() - started,
    summary: Object.values(run.jobs).map((job) => job.summary).join(''),
    called: run,
  };
}

async function runJob(options: RunOptions, workflow: WorkflowFile, jobId: string, jobName: string, spec: JobSpec, contexts: Contexts, depth: number): Promise<JobRun> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  if (spec.strategy) throw new Error(`job ${jobId}: matrix strategies are not supported by the local runner`);
  const root = path.join(options.runRoot, `${jobId}-${randomBytes(3).toString('hex')}`);
  const runnerTemp = path.join(root, 'temp');
  const state: JobState = {
    spec,
    workspace: path.join(root, 'workspace'),
    runnerTemp,
    env: {},
    addedPath: [],
    steps: {},
    masks: new Set(Object.values(options.secrets ?? {}).filter((value) => value.length > 0)),
    summaryFile: path.join(root, 'summary.md'),
    eventPath: path.join(runnerTemp, '_github_workflow', 'event.json'),
  };
  mkdirSync(state.workspace, { recursive: true });
  // The event payload, written once for the job's steps (this also creates RUNNER_TEMP).
  mkdirSync(path.dirname(state.eventPath), { recursive: true });
  writeFileSync(state.eventPath, JSON.stringify((contexts.github as Record<string, Json>).event ?? {}));
  contexts = { ...contexts, runner: { ...(contexts.runner as Record<string, Json>), temp: state.runnerTemp } };
  writeFileSync(state.summaryFile, '');
  const services = spec.services
    ? await startServices(spec.services as Record<string, ServiceSpec>, contexts, { success: () => true, failure: () => false }, {
        env: baseEnv(options),
        serviceImages: options.serviceImages ?? {},
        log: (line) => log(`${'  '.repeat(depth + 2)}${line}`),
      })
    : undefined;
  if (services) contexts = { ...contexts, job: { ...(contexts.job as Record<string, Json>), services: services.context } };
  try {
    return await runSteps(options, workflow, jobId, jobName, spec, contexts, depth, state, started);
  } finally {
    await services?.stop();
  }
}

async function runSteps(
  options: RunOptions,
  workflow: WorkflowFile,
  jobId: string,
  jobName: string,
  spec: JobSpec,
  contexts: Contexts,
  depth: number,
  state: JobState,
  started: number,
): Promise<JobRun> {
  const log = options.log ?? (() => undefined);

  const statusOfSteps = (): StatusFunctions => ({
    success: () => Object.values(state.steps).every((step) => step.conclusion !== 'failure'),
    failure: () => Object.values(state.steps).some((step) => step.conclusion === 'failure'),
  });
  const envContext = (stepEnv: Record<string, unknown> | undefined, stepContexts: Contexts): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(workflow.env ?? {})) env[name] = interpolateString(value, { ...stepContexts, env }, statusOfSteps());
    for (const [name, value] of Object.entries(spec.env ?? {})) env[name] = interpolateString(value, { ...stepContexts, env }, statusOfSteps());
    Object.assign(env, state.env);
    for (const [name, value] of Object.entries(stepEnv ?? {})) env[name] = interpolateString(value, { ...stepContexts, env }, statusOfSteps());
    return env;
  };

  const steps: StepRun[] = [];
  for (const [index, step] of (spec.steps ?? []).entries()) {
    const stepId = step.id ?? `__step${index}`;
    const stepContexts: Contexts = { ...contexts, steps: state.steps as unknown as Json };
    stepContexts.env = envContext(step.env, stepContexts);
    const name = step.name ? interpolateString(step.name, stepContexts, statusOfSteps()) : step.uses ? `Run ${step.uses}` : `Run ${String(step.run).split('\n')[0]}`;
    const stepStarted = Date.now();
    if (!condition(step.if, stepContexts, statusOfSteps())) {
      state.steps[stepId] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      steps.push({ id: stepId, name, outcome: 'skipped', conclusion: 'skipped', outputs: {}, startedAt: stepStarted, durationMs: 0, errors: [] });
      continue;
    }
    log(`${'  '.repeat(depth + 2)}→ ${name}`);
    let outcome: Result;
    let outputs: Record<string, string> = {};
    let errors: string[];
    try {
      const result = await runStep(options, state, step, stepContexts, statusOfSteps(), depth + 3);
      outcome = result.exitCode === 0 ? 'success' : 'failure';
      outputs = result.outputs;
      errors = result.errors;
    } catch (error) {
      outcome = 'failure';
      errors = [(error as Error).message];
      log(`${'  '.repeat(depth + 3)}Error: ${(error as Error).message}`);
    }
    const continueOnError = step['continue-on-error'] === true || (typeof step['continue-on-error'] === 'string' && condition(step['continue-on-error'], stepContexts, { success: () => true, failure: () => false }));
    const conclusion: Result = outcome === 'failure' && continueOnError ? 'success' : outcome;
    state.steps[stepId] = { outputs, outcome, conclusion };
    steps.push({ id: stepId, name, outcome, conclusion, outputs, startedAt: stepStarted, durationMs: Date.now() - stepStarted, errors });
  }

  const failed = Object.values(state.steps).some((step) => step.conclusion === 'failure');
  const outputs: Record<string, string> = {};
  const finalContexts: Contexts = { ...contexts, steps: state.steps as unknown as Json };
  for (const [name, value] of Object.entries(spec.outputs ?? {})) outputs[name] = interpolateString(value, finalContexts, { success: () => !failed, failure: () => failed });
  return {
    id: jobId,
    name: jobName,
    result: failed ? 'failure' : 'success',
    outputs,
    steps,
    startedAt: started,
    durationMs: Date.now() - started,
    summary: readFileSync(state.summaryFile, 'utf8'),
  };
}

function runnerEnv(options: RunOptions, state: JobState, contexts: Contexts): Record<string, string> {
  const github = contexts.github as Record<string, string>;
  const env = baseEnv(options);
  if (state.addedPath.length > 0) env.PATH = `${state.addedPath.join(path.delimiter)}${path.delimiter}${env.PATH ?? ''}`;
  return {
    ...env,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: options.repository,
    GITHUB_REPOSITORY_OWNER: options.repository.split('/')[0],
    GITHUB_RUN_ID: github.run_id,
    GITHUB_RUN_NUMBER: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_EVENT_NAME: github.event_name,
    GITHUB_EVENT_PATH: state.eventPath,
    GITHUB_WORKSPACE: state.workspace,
    GITHUB_WORKFLOW: github.workflow,
    GITHUB_WORKFLOW_REF: github.workflow_ref,
    GITHUB_REF: github.ref,
    GITHUB_REF_NAME: github.ref_name,
    GITHUB_SHA: github.sha,
    GITHUB_ACTOR: github.actor,
    GITHUB_SERVER_URL: github.server_url,
    GITHUB_API_URL: github.api_url,
    GITHUB_JOB: 'job',
    RUNNER_TEMP: state.runnerTemp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'local-runner',
    RUNNER_TOOL_CACHE: path.join(state.runnerTemp, 'tool_cache'),
  };
}

interface ActionMetadata {
  inputs?: Record<string, { default?: unknown; required?: boolean }>;
  runs: { using: string; main: string };
}

async function runStep(
  options: RunOptions,
  state: JobState,
  step: StepSpec,
  contexts: Contexts,
  status: StatusFunctions,
  depth: number,
): Promise<{ exitCode: number; outputs: Record<string, string>; errors: string[] }> {
  const log = (line: string) => (options.log ?? (() => undefined))(`${'  '.repeat(depth)}${line}`);
  const env = { ...runnerEnv(options, state, contexts), ...(contexts.env as Record<string, string>) };
  const timeoutMs = step['timeout-minutes'] ? step['timeout-minutes'] * 60_000 : undefined;
  const process = { runnerTemp: state.runnerTemp, masks: state.masks, log };
  let result;
  if (step.run !== undefined) {
    const script = interpolateString(step.run, contexts, status);
    const scriptFile = path.join(state.runnerTemp, `step-${randomBytes(4).toString('hex')}.sh`);
    writeFileSync(scriptFile, script);
    const defaults = { ...state.spec.defaults?.run };
    const cwd = path.resolve(state.workspace, interpolateString(step['working-directory'] ?? defaults['working-directory'] ?? '.', contexts, status));
    result = await runStepProcess(process, 'bash', ['--noprofile', '--norc', '-eo', 'pipefail', scriptFile], { cwd, env, timeoutMs });
  } else if (step.uses) {
    const withInputs: Record<string, string> = {};
    for (const [name, value] of Object.entries(step.with ?? {})) withInputs[name] = interpolateString(value, contexts, status);
    const builtin = builtinFor(step.uses);
    if (builtin) {
      const outputs = await builtin({ workspace: state.workspace, env, repository: options.repository, repositories: options.repositories, log }, withInputs);
      return { exitCode: 0, outputs, errors: [] };
    }
    const actionDir = step.uses.startsWith('./') ? path.resolve(state.workspace, step.uses) : (() => {
      const { repository, file } = resolveUses(options, step.uses!, options.workflowRepository);
      return path.join(repository.dir, file);
    })();
    const metadata = parseYaml(readFileSync(path.join(actionDir, 'action.yml'), 'utf8')) as ActionMetadata;
    if (!/^node\d+$/.test(metadata.runs.using)) throw new Error(`${step.uses}: only node actions run locally`);
    for (const [name, spec] of Object.entries(metadata.inputs ?? {})) {
      const value = name in withInputs ? withInputs[name] : spec.default !== undefined ? interpolateString(spec.default, contexts, status) : '';
      env[inputEnvName(name)] = value;
    }
    for (const name of Object.keys(withInputs)) {
      if (!(name in (metadata.inputs ?? {}))) log(`Warning: Unexpected input(s) '${name}', valid inputs are ${Object.keys(metadata.inputs ?? {}).join(', ')}`);
    }
    result = await runStepProcess(process, globalThis.process.execPath, [path.join(actionDir, metadata.runs.main)], { cwd: state.workspace, env, timeoutMs });
  } else {
    throw new Error('step has neither run nor uses');
  }
  Object.assign(state.env, result.exportedEnv);
  state.addedPath.unshift(...result.addedPath);
  if (result.summary) appendFileSync(state.summaryFile, result.summary);
  if (result.exitCode !== 0) log(`Process completed with exit code ${result.exitCode}.`);
  return { exitCode: result.exitCode, outputs: result.outputs, errors: result.errors };
}


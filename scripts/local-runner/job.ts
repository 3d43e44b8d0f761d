import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { builtinFor, checkout, tsNodeArgs } from './builtin-actions.js';
import { Cancellation } from './cancellation.js';
import {
  condition,
  interpolate,
  interpolateString,
  NO_STATUS,
  type Contexts,
  type Json,
  type StatusFunctions,
} from './expressions.js';
import { inputEnvName } from './protocol.js';
import { startServices, type ServiceSpec } from './services.js';
import { killProcessGroups, runStepProcess, type StepProcessResult } from './step-process.js';
import type { JobSpec, Result, RunOptions, StepRun, StepSpec, WorkflowFile } from './types.js';
import type { WorkflowSource } from './workflow-source.js';

/**
 * One job on a runner: a fresh workspace, its services, its steps in order with `if:` conditions,
 * outputs, file commands and masks, and cancellation as the runner does it (the job's timeout or
 * its run's cancellation stops the running step with SIGINT, then SIGTERM, then a kill; the steps
 * left run only if their condition asks for always() or cancelled()).
 */
export interface JobInput {
  options: RunOptions;
  source: WorkflowSource;
  workflow: WorkflowFile;
  jobId: string;
  spec: JobSpec;
  /** github, inputs, vars, secrets, needs, job, runner... as the job sees them. */
  contexts: Contexts;
  masks: Set<string>;
  cancellation: Cancellation;
  log: (line: string) => void;
}

export interface JobOutcome {
  result: Result;
  outputs: Record<string, string>;
  steps: StepRun[];
  summary: string;
  errors: string[];
}

interface StepState {
  outputs: Record<string, string>;
  outcome: Result;
  conclusion: Result;
}

const BASE_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER'];

export function baseEnv(options: RunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of BASE_ENV_KEYS) if (process.env[key]) env[key] = process.env[key]!;
  return { ...env, ...options.env };
}

/** GitHub's duration wording in timeout messages: 1m0s, 45m0s, 6h0m0s. */
export function goDuration(minutes: number): string {
  const seconds = Math.round(minutes * 60);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m}m${s}s`;
}

/** timeout-minutes (a number or an expression), with GitHub's default of 360 for jobs. */
export function timeoutMinutes(value: unknown, contexts: Contexts, fallback: number | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return fallback;
  const evaluated = interpolate(value, contexts, NO_STATUS);
  const minutes = Number(evaluated);
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new Error(`timeout-minutes must be a positive number; got ${JSON.stringify(evaluated)}`);
  return minutes;
}

export async function runJob(input: JobInput): Promise<JobOutcome> {
  const { options, spec, jobId, log } = input;
  if (spec.strategy) throw new Error(`job ${jobId}: matrix strategies are not supported by the local runner`);
  const root = path.join(options.runRoot, `${jobId}-${randomBytes(3).toString('hex')}`);
  const runnerTemp = path.join(root, 'temp');
  const workspace = path.join(root, 'workspace');
  const eventPath = path.join(runnerTemp, '_github_workflow', 'event.json');
  const summaryFile = path.join(root, 'summary.md');
  mkdirSync(workspace, { recursive: true });
  // The event payload, written once for the job's steps (this also creates RUNNER_TEMP).
  mkdirSync(path.dirname(eventPath), { recursive: true });
  writeFileSync(eventPath, JSON.stringify((input.contexts.github as Record<string, Json>).event ?? {}));
  writeFileSync(summaryFile, '');
  let contexts: Contexts = {
    ...input.contexts,
    runner: { ...(input.contexts.runner as Record<string, Json>), temp: runnerTemp },
  };
  const services = spec.services
    ? await startServices(spec.services as Record<string, ServiceSpec>, contexts, NO_STATUS, {
        env: baseEnv(options),
        serviceImages: options.serviceImages ?? {},
        asNamed: options.serviceImagesAsNamed === true,
        log,
      })
    : undefined;
  if (services)
    contexts = { ...contexts, job: { ...(contexts.job as Record<string, Json>), services: services.context } };
  const runner = new StepRunner(input, contexts, { workspace, runnerTemp, eventPath, summaryFile });
  try {
    return await runner.run();
  } finally {
    killProcessGroups(runner.processGroups);
    await services?.stop();
  }
}

interface Paths {
  workspace: string;
  runnerTemp: string;
  eventPath: string;
  summaryFile: string;
}

class StepRunner {
  private readonly states: Record<string, StepState> = {};
  private readonly exportedEnv: Record<string, string> = {};
  private readonly addedPath: string[] = [];
  private readonly errors: string[] = [];
  readonly processGroups = new Set<number>();

  constructor(
    private readonly input: JobInput,
    private readonly contexts: Contexts,
    private readonly paths: Paths,
  ) {}

  /** The job's status as the step conditions see it: cancelled wins, then any failed step. */
  private status(): StatusFunctions {
    const cancelled = this.input.cancellation.cancelled;
    const failed = Object.values(this.states).some((step) => step.conclusion === 'failure');
    return { success: () => !cancelled && !failed, failure: () => !cancelled && failed, cancelled: () => cancelled };
  }

  private envContext(stepEnv: Record<string, unknown> | undefined, stepContexts: Contexts): Record<string, string> {
    const env: Record<string, string> = {};
    const layers = [this.input.workflow.env, this.input.spec.env];
    for (const layer of layers)
      for (const [name, value] of Object.entries(layer ?? {}))
        env[name] = interpolateString(value, { ...stepContexts, env }, this.status());
    Object.assign(env, this.exportedEnv);
    for (const [name, value] of Object.entries(stepEnv ?? {}))
      env[name] = interpolateString(value, { ...stepContexts, env }, this.status());
    return env;
  }

  async run(): Promise<JobOutcome> {
    const { spec, log } = this.input;
    const steps: StepRun[] = [];
    for (const [index, step] of (spec.steps ?? []).entries()) {
      const stepId = step.id ?? `__step${index}`;
      const stepContexts: Contexts = { ...this.contexts, steps: this.states as unknown as Json };
      stepContexts.env = this.envContext(step.env, stepContexts);
      const status = this.status();
      const name = step.name
        ? interpolateString(step.name, stepContexts, status)
        : step.uses
          ? `Run ${step.uses}`
          : `Run ${String(step.run).split('\n')[0]}`;
      const started = Date.now();
      if (!condition(step.if, stepContexts, status)) {
        this.states[stepId] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
        steps.push({
          id: stepId,
          name,
          outcome: 'skipped',
          conclusion: 'skipped',
          outputs: {},
          startedAt: started,
          durationMs: 0,
          errors: [],
          signals: [],
        });
        continue;
      }
      log(`→ ${name}`);
      const ran = await this.runOne(step, stepContexts, status);
      const continueOnError =
        step['continue-on-error'] === true ||
        (typeof step['continue-on-error'] === 'string' &&
          condition(step['continue-on-error'], stepContexts, NO_STATUS));
      const conclusion: Result = ran.outcome === 'failure' && continueOnError ? 'success' : ran.outcome;
      this.states[stepId] = { outputs: ran.outputs, outcome: ran.outcome, conclusion };
      steps.push({
        id: stepId,
        name,
        outcome: ran.outcome,
        conclusion,
        outputs: ran.outputs,
        startedAt: started,
        durationMs: Date.now() - started,
        errors: ran.errors,
        signals: ran.signals,
      });
    }

    const status = this.status();
    const result: Result = status.cancelled() ? 'cancelled' : status.failure() ? 'failure' : 'success';
    const outputs: Record<string, string> = {};
    const finalContexts: Contexts = { ...this.contexts, steps: this.states as unknown as Json };
    for (const [name, value] of Object.entries(spec.outputs ?? {}))
      outputs[name] = interpolateString(value, finalContexts, status);
    return { result, outputs, steps, summary: readFileSync(this.paths.summaryFile, 'utf8'), errors: this.errors };
  }

  /**
   * Runs one step under its own cancellation: the job's, plus its timeout-minutes, as the runner
   * does it (actions/runner, src/Runner.Worker/StepsRunner.cs): when the job is cancelled while the
   * step runs, the step's condition is evaluated again and the step is stopped only if it no longer
   * holds (an always() step runs on); a step that starts once the job is already cancelled is not
   * tied to the job's cancellation at all, and runs to its end or its own timeout.
   */
  private async runOne(
    step: StepSpec,
    contexts: Contexts,
    status: StatusFunctions,
  ): Promise<{ outcome: Result; outputs: Record<string, string>; errors: string[]; signals: StepRun['signals'] }> {
    const { log } = this.input;
    const cancellation = new Cancellation();
    const stopListening = this.input.cancellation.cancelled
      ? () => undefined
      : this.input.cancellation.onCancel((reason) => {
          const cancelled: StatusFunctions = { success: () => false, failure: () => false, cancelled: () => true };
          if (!condition(step.if, contexts, cancelled)) cancellation.cancel(reason);
        });
    let timedOut = false;
    const minutes = timeoutMinutes(step['timeout-minutes'], contexts, undefined);
    const timer = minutes
      ? setTimeout(() => {
          timedOut = true;
          cancellation.cancel(`The action has timed out.`);
        }, minutes * 60_000)
      : undefined;
    try {
      const result = await this.execute(step, contexts, status, cancellation);
      const errors = [...result.errors];
      let outcome: Result = result.exitCode === 0 ? 'success' : 'failure';
      if (timedOut) {
        errors.push(`The action has timed out after ${minutes} minutes.`);
        outcome = 'failure';
      } else if (cancellation.cancelled) {
        errors.push('The operation was canceled.');
        outcome = 'cancelled';
      } else if (result.exitCode !== 0) {
        log(`  Process completed with exit code ${result.exitCode}.`);
      }
      for (const error of errors.slice(result.errors.length)) log(`  Error: ${error}`);
      return { outcome, outputs: result.outputs, errors, signals: result.signals };
    } catch (error) {
      log(`  Error: ${(error as Error).message}`);
      return { outcome: 'failure', outputs: {}, errors: [(error as Error).message], signals: [] };
    } finally {
      if (timer) clearTimeout(timer);
      stopListening();
    }
  }

  private runnerEnv(contexts: Contexts): Record<string, string> {
    const github = contexts.github as Record<string, string>;
    const env = baseEnv(this.input.options);
    if (this.addedPath.length > 0)
      env.PATH = `${this.addedPath.join(path.delimiter)}${path.delimiter}${env.PATH ?? ''}`;
    return {
      ...env,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: github.repository,
      GITHUB_REPOSITORY_OWNER: github.repository_owner,
      GITHUB_RUN_ID: github.run_id,
      GITHUB_RUN_NUMBER: github.run_number,
      GITHUB_RUN_ATTEMPT: github.run_attempt,
      GITHUB_EVENT_NAME: github.event_name,
      GITHUB_EVENT_PATH: this.paths.eventPath,
      GITHUB_WORKSPACE: this.paths.workspace,
      GITHUB_WORKFLOW: github.workflow,
      GITHUB_WORKFLOW_REF: github.workflow_ref,
      GITHUB_WORKFLOW_SHA: github.workflow_sha,
      GITHUB_REF: github.ref,
      GITHUB_REF_NAME: github.ref_name,
      GITHUB_SHA: github.sha,
      GITHUB_ACTOR: github.actor,
      GITHUB_TRIGGERING_ACTOR: github.actor,
      GITHUB_SERVER_URL: github.server_url,
      GITHUB_API_URL: github.api_url,
      GITHUB_JOB: this.input.jobId,
      RUNNER_TEMP: this.paths.runnerTemp,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_NAME: 'local-runner',
      RUNNER_TOOL_CACHE: path.join(this.paths.runnerTemp, 'tool_cache'),
    };
  }

  private async execute(
    step: StepSpec,
    contexts: Contexts,
    status: StatusFunctions,
    cancellation: Cancellation,
  ): Promise<StepProcessResult> {
    const log = (line: string) => this.input.log(`  ${line}`);
    const env = { ...this.runnerEnv(contexts), ...(contexts.env as Record<string, string>) };
    const processContext = { runnerTemp: this.paths.runnerTemp, masks: this.input.masks, log };
    let result: StepProcessResult;
    if (step.run !== undefined) {
      const script = interpolateString(step.run, contexts, status);
      const scriptFile = path.join(this.paths.runnerTemp, `step-${randomBytes(4).toString('hex')}.sh`);
      writeFileSync(scriptFile, script);
      const workingDirectory =
        step['working-directory'] ??
        this.input.spec.defaults?.run?.['working-directory'] ??
        this.input.workflow.defaults?.run?.['working-directory'] ??
        '.';
      const cwd = path.resolve(this.paths.workspace, interpolateString(workingDirectory, contexts, status));
      result = await runStepProcess(processContext, 'bash', ['--noprofile', '--norc', '-eo', 'pipefail', scriptFile], {
        cwd,
        env,
        cancellation,
      });
    } else if (step.uses) {
      const withInputs: Record<string, string> = {};
      for (const [name, value] of Object.entries(step.with ?? {}))
        withInputs[name] = interpolateString(value, contexts, status);
      const builtin = builtinFor(step.uses);
      if (builtin?.kind === 'checkout') {
        const outputs = await checkout(
          {
            workspace: this.paths.workspace,
            repository: this.input.options.repository,
            repositories: this.input.options.repositories,
            log,
          },
          withInputs,
        );
        return {
          exitCode: 0,
          signals: [],
          outputs,
          exportedEnv: {},
          addedPath: [],
          summary: '',
          errors: [],
        } satisfies StepProcessResult;
      }
      for (const [name, value] of Object.entries(withInputs)) env[inputEnvName(name)] = value;
      if (builtin?.kind === 'process') {
        result = await runStepProcess(processContext, process.execPath, tsNodeArgs(builtin.script), {
          cwd: this.paths.workspace,
          env,
          cancellation,
        });
      } else {
        const actionDir = this.actionDirectory(step.uses);
        const metadata = parseYaml(readFileSync(path.join(actionDir, 'action.yml'), 'utf8')) as ActionMetadata;
        if (!/^node\d+$/.test(metadata.runs.using)) throw new Error(`${step.uses}: only node actions run locally`);
        for (const [name, spec] of Object.entries(metadata.inputs ?? {})) {
          if (!(name in withInputs))
            env[inputEnvName(name)] =
              spec.default !== undefined ? interpolateString(spec.default, contexts, status) : '';
        }
        for (const name of Object.keys(withInputs)) {
          if (!(name in (metadata.inputs ?? {})))
            log(
              `Warning: Unexpected input(s) '${name}', valid inputs are ${Object.keys(metadata.inputs ?? {}).join(', ')}`,
            );
        }
        result = await runStepProcess(processContext, process.execPath, [path.join(actionDir, metadata.runs.main)], {
          cwd: this.paths.workspace,
          env,
          cancellation,
        });
      }
    } else {
      throw new Error('step has neither run nor uses');
    }
    if (result.processGroup) this.processGroups.add(result.processGroup);
    Object.assign(this.exportedEnv, result.exportedEnv);
    this.addedPath.unshift(...result.addedPath);
    if (result.summary) appendFileSync(this.paths.summaryFile, result.summary);
    return result;
  }

  /** `./x` in the workspace; `owner/repo/path@ref` in the local copy of owner/repo. */
  private actionDirectory(uses: string): string {
    if (uses.startsWith('./')) return path.resolve(this.paths.workspace, uses);
    const match = /^([^/@]+\/[^/@]+)(?:\/([^@]*))?@(.+)$/.exec(uses);
    const local = match ? this.input.options.repositories[match[1]] : undefined;
    if (!match || !local)
      throw new Error(
        `${uses} has no local copy (known: ${Object.keys(this.input.options.repositories).join(', ')}); the local runner runs local repositories and actions/checkout only.`,
      );
    return path.join(local.dir, match[2] ?? '.');
  }
}

interface ActionMetadata {
  inputs?: Record<string, { default?: unknown; required?: boolean }>;
  runs: { using: string; main: string };
}

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { summaryProblems } from './summary-check.js';
import {
  createFileCommandFiles,
  inputEnvName,
  maskLine,
  parseFileCommand,
  parseWorkflowCommand,
  readFileCommands,
  type WorkflowCommand,
} from '../scripts/local-runner/protocol.js';

// The runner's side of the step protocol, shared with the local workflow runner.
export { inputEnvName, parseFileCommand, parseWorkflowCommand, type WorkflowCommand };

/**
 * Runs an action's bundle, dist/<action>/index.js, the way the GitHub runner does: a fresh node
 * process, inputs as INPUT_<NAME> (upper-cased, spaces to "_", hyphens kept) with action.yml
 * defaults filled in, the GITHUB_OUTPUT/STEP_SUMMARY/ENV/STATE/PATH files created beforehand, the
 * runner's GITHUB_* and RUNNER_* variables set; then reads back what the runner would: outputs
 * (both `name=value` and `name<<DELIMITER` forms), summary, workflow commands and the masked log.
 */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RunActionOptions {
  inputs?: Record<string, string | number | boolean | undefined>;
  /** Extra environment for the step (the workflow's `env:`). */
  env?: Record<string, string | undefined>;
  /** GITHUB_WORKSPACE (the checkout); a temp dir by default. */
  workspace?: string;
  /** Working directory of the step; the workspace by default. */
  cwd?: string;
  /** What `${{ github.token }}` in an action.yml default evaluates to. */
  githubToken?: string;
  /** The event payload written to GITHUB_EVENT_PATH. */
  event?: unknown;
  eventName?: string;
  timeoutMs?: number;
  /** Run a bundle from another dist directory (check-dist style comparisons). */
  distDir?: string;
  /** Run an action that lives elsewhere: its folder (with action.yml) and entry script. */
  actionDir?: string;
  entry?: string;
}

export interface ActionResult {
  exitCode: number;
  /** Raw process output, as written (before the runner's masking). */
  stdout: string;
  stderr: string;
  /** What the runner shows in the log: commands consumed, registered secrets replaced by ***. */
  log: string;
  outputs: Record<string, string>;
  summary: string;
  exportedEnv: Record<string, string>;
  state: Record<string, string>;
  addedPath: string[];
  commands: WorkflowCommand[];
  errors: string[];
  warnings: string[];
  notices: string[];
  masks: string[];
  /** Stdout lines that are structured events (JSON objects with an "event" field). */
  events: Record<string, unknown>[];
  durationMs: number;
  /** Files and env the step ran with, for tests that look further. */
  runnerTemp: string;
  workspace: string;
}

interface ActionInputSpec {
  default?: string | number | boolean;
  required?: boolean;
}

export function actionMetadata(
  action: string,
  actionDir = path.join(REPO_ROOT, 'actions', action),
): { inputs: Record<string, ActionInputSpec>; outputs: Record<string, unknown> } {
  const metadata = parseYaml(readFileSync(path.join(actionDir, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, ActionInputSpec>;
    outputs?: Record<string, unknown>;
  };
  return { inputs: metadata.inputs ?? {}, outputs: metadata.outputs ?? {} };
}

/** Evaluates the few expressions action.yml defaults use. */
function evaluateDefault(value: string, githubToken: string | undefined): string {
  return value.replace(/\$\{\{\s*github\.token\s*\}\}/g, githubToken ?? '');
}

/** What the log shows once the runner has processed commands and masked every registered secret. */
export function renderLog(lines: string[], masks: string[]): string {
  const shown: string[] = [];
  for (const line of lines) {
    const command = parseWorkflowCommand(line);
    if (command && ['add-mask', 'set-output', 'save-state', 'add-path', 'set-env'].includes(command.command)) continue;
    shown.push(maskLine(line, masks));
  }
  return shown.join('\n');
}

const runnerRoots = new Set<string>();

/**
 * Removes the directories (workspace, RUNNER_TEMP, file commands) of every step run so far: after
 * each test file (testkit/after-each-file.ts; jest never emits 'exit' in its workers),
 * and at process exit elsewhere (benchmarks).
 */
export function removeRunnerDirectories(): void {
  for (const root of runnerRoots) rmSync(root, { recursive: true, force: true });
  runnerRoots.clear();
}

/** A step started but not awaited: for tests that signal or kill it while it runs. */
export interface RunningAction {
  /** The node process running the bundle (the step's entry process, which the runner signals). */
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends a signal to the step's process, as the runner does on cancel (SIGINT, then SIGTERM). */
  signal(signal: NodeJS.Signals): void;
  /** RUNNER_TEMP of the step, to look at its files while it runs. */
  runnerTemp: string;
  result: Promise<ActionResult>;
}

export async function runAction(action: string, options: RunActionOptions = {}): Promise<ActionResult> {
  return await startAction(action, options).result;
}

/** Starts an action's bundle as runAction does and returns at once. */
export function startAction(action: string, options: RunActionOptions = {}): RunningAction {
  const root = mkdtempSync(path.join(os.tmpdir(), `runner-${action}-`));
  const runnerTemp = path.join(root, 'temp');
  const workspace = options.workspace ?? path.join(root, 'workspace');
  for (const dir of [runnerTemp, workspace]) mkdirSync(dir, { recursive: true });
  const files = createFileCommandFiles(path.join(root, 'file_commands'));
  const eventPath = path.join(root, 'event.json');
  writeFileSync(eventPath, JSON.stringify(options.event ?? {}));

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? os.homedir(),
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: `__${action.replace(/-/g, '_')}`,
    GITHUB_ACTION_REPOSITORY: 'rollback-actions/rollback-actions',
    GITHUB_ACTION_REF: 'v1',
    GITHUB_ACTOR: 'octocat',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_REPOSITORY_ID: '123456',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '17',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'rollback',
    GITHUB_WORKFLOW: 'Rollback',
    GITHUB_WORKFLOW_REF: 'acme/shop/.github/workflows/rollback.yml@refs/heads/main',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_SHA: '0000000000000000000000000000000000000000',
    GITHUB_EVENT_NAME: options.eventName ?? 'workflow_dispatch',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: path.join(root, 'tool_cache'),
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'harness',
    RUNNER_ENVIRONMENT: 'self-hosted',
    ...files,
  };
  for (const [name, spec] of Object.entries(actionMetadata(action, options.actionDir).inputs)) {
    if (spec.default !== undefined)
      env[inputEnvName(name)] = evaluateDefault(String(spec.default), options.githubToken);
  }
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    if (value !== undefined) env[inputEnvName(name)] = String(value);
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }

  const bundle = options.entry ?? path.join(options.distDir ?? path.join(REPO_ROOT, 'dist'), action, 'index.js');
  const started = Date.now();
  const child = spawn(process.execPath, [bundle], {
    cwd: options.cwd ?? workspace,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const finished = new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  return {
    pid: child.pid!,
    output: () => `${Buffer.concat(out).toString('utf8')}${Buffer.concat(err).toString('utf8')}`,
    signal: (signal) => void child.kill(signal),
    runnerTemp,
    result: finished.then(({ exitCode, stdout, stderr }) =>
      collectResult({
        exitCode,
        stdout,
        stderr,
        durationMs: Date.now() - started,
        files,
        runnerTemp,
        workspace,
        root,
        checkSummary: options.actionDir === undefined,
      }),
    ),
  };
}

function collectResult(run: {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  files: ReturnType<typeof createFileCommandFiles>;
  runnerTemp: string;
  workspace: string;
  root: string;
  /** This repository's own actions (not a test's probe action). */
  checkSummary: boolean;
}): ActionResult {
  const { exitCode, stdout, stderr, durationMs, files, runnerTemp, workspace, root } = run;

  const lines = `${stdout}${stderr}`.split('\n');
  const commands = lines
    .map(parseWorkflowCommand)
    .filter((command): command is WorkflowCommand => command !== undefined);
  const byName = (name: string) =>
    commands.filter((command) => command.command === name).map((command) => command.message);
  const masks = byName('add-mask');
  const events = stdout
    .split('\n')
    .filter((line) => line.startsWith('{"event"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

  const result: ActionResult = {
    exitCode,
    stdout,
    stderr,
    log: renderLog(lines, masks),
    ...readFileCommands(files),
    commands,
    errors: byName('error'),
    warnings: byName('warning'),
    notices: byName('notice'),
    masks,
    events,
    durationMs,
    runnerTemp,
    workspace,
  };
  // Every summary an action writes in the suite is held to the same rules (summary-check.ts).
  const problems = run.checkSummary ? summaryProblems(result.summary) : [];
  if (problems.length > 0)
    throw new Error(`The job summary breaks the summary rules:\n- ${problems.join('\n- ')}\n\n${result.summary}`);
  // The runner's directories outlive the step, so tests can inspect what it left; removed after the test file.
  runnerRoots.add(root);
  if (runnerRoots.size === 1) process.once('exit', removeRunnerDirectories);
  return result;
}

/** Every place a value could leak: raw output with mask commands dropped, outputs, summary, files. */
export function leaksOf(result: ActionResult, secret: string, extraTexts: string[] = []): string[] {
  const places: string[] = [];
  const rawWithoutMasks = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  if (rawWithoutMasks.includes(secret)) places.push('stdout/stderr');
  for (const [name, value] of Object.entries(result.outputs)) if (value.includes(secret)) places.push(`output ${name}`);
  if (result.summary.includes(secret)) places.push('job summary');
  extraTexts.forEach((text, index) => {
    if (text.includes(secret)) places.push(`extra text ${index}`);
  });
  return places;
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { interpolateString, NO_STATUS, type Contexts } from '../scripts/local-runner/expressions.js';
import { runProcess } from '../shared/process.js';
import { parseFileCommand, REPO_ROOT } from './action-harness.js';

/** The parts of a workflow step the workflow tests read. */
export interface WorkflowStep {
  id?: string;
  env?: Record<string, string>;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}

export interface StepRun {
  exitCode: number;
  /** The step's outputs, read from GITHUB_OUTPUT as the runner reads them (`name=value` and heredocs). */
  outputs: Record<string, string>;
  /** GITHUB_OUTPUT as the step wrote it. */
  outputText: string;
}

/**
 * Runs a workflow step's `run:` shell as the runner runs it (bash -e, in the checkout): its env
 * evaluated from `contexts` with GitHub's expression rules, a fresh GITHUB_OUTPUT file.
 * `env` adds to (or overrides) the step's env; exit codes other than `okExitCodes` throw.
 */
export async function runWorkflowStep(
  step: WorkflowStep,
  contexts: Contexts,
  options: { env?: Record<string, string>; okExitCodes?: number[] } = {},
): Promise<StepRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'workflow-step-'));
  try {
    const output = path.join(dir, 'output');
    writeFileSync(output, '');
    const env = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([name, value]) => [name, interpolateString(value, contexts, NO_STATUS)]),
    );
    const result = await runProcess('bash', ['-e', '-c', step.run ?? 'exit 1'], {
      cwd: REPO_ROOT,
      env: { ...env, ...options.env, GITHUB_OUTPUT: output },
      okExitCodes: options.okExitCodes,
    });
    const outputText = readFileSync(output, 'utf8');
    return { exitCode: result.exitCode, outputs: parseFileCommand(outputText), outputText };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

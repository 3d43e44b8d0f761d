import { runAction, type ActionResult, type RunActionOptions } from '../support/action-harness.js';

/** Runs the bundled compute-rollback-target through the runner harness. */
export function compute(workspace: string, inputs: RunActionOptions['inputs'], options: Omit<RunActionOptions, 'inputs' | 'workspace'> = {}): Promise<ActionResult> {
  return runAction('compute-rollback-target', { inputs, workspace, ...options });
}

export interface PlannedMigrationJson {
  version: string;
  name: string;
  class: string;
  up: string | null;
  down: string | null;
  downStatus: string;
  downTransactional: boolean | null;
  statements: { sql: string; line: number; class: string; reasons: string[] }[];
  revertWarnings: { kind: string; message: string; sql?: string }[];
}

export interface WarningJson {
  kind: string;
  message: string;
  migration?: string;
}

export function migrationsOf(result: ActionResult): PlannedMigrationJson[] {
  return JSON.parse(result.outputs.migrations) as PlannedMigrationJson[];
}

export function warningsOf(result: ActionResult): WarningJson[] {
  return JSON.parse(result.outputs.warnings) as WarningJson[];
}

/** A run that succeeded, or a failure message that shows what the action said. */
export function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0) throw new Error(`compute-rollback-target failed (exit ${result.exitCode}):\n${result.errors.join('\n')}\n${result.stderr}`);
}

/** A run refused before doing anything: one error naming the input, no outputs, a summary saying only that. */
export function expectRefused(result: ActionResult, message: RegExp): void {
  expect(result.exitCode).toBe(1);
  expect(result.errors).toHaveLength(1);
  expect(result.errors[0]).toMatch(message);
  expect(result.outputs).toEqual({});
  expect(result.summary).toMatch(/^## compute-rollback-target failed\n\n/);
  expect(result.summary).toContain(result.errors[0].split('\n')[0]);
}

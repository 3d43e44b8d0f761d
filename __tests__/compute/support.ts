import { migrateDatabase } from '../../shared/migrations/runner.js';
import type { MigrationFormat } from '../../shared/migrations/types.js';
import { runAction, type ActionResult, type RunActionOptions } from '../../testkit/action-harness.js';
import { schemaOfUrl, targetOfUrl, type TestDatabase } from '../../testkit/database.js';
import { createDemoRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import path from 'node:path';

/** Runs the bundled compute-rollback-target through the runner harness. */
export function compute(
  workspace: string,
  inputs: RunActionOptions['inputs'],
  options: Omit<RunActionOptions, 'inputs' | 'workspace'> = {},
): Promise<ActionResult> {
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
  statements: {
    sql: string;
    line: number;
    class: string;
    reasons: string[];
    lost?: string[];
    warnings?: { kind: string; message: string }[];
  }[];
  revertWarnings: { kind: string; message: string; sql?: string }[];
  downSha256: string | null;
  inCurrentRelease: boolean;
  dataLost: string[];
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
  if (result.exitCode !== 0)
    throw new Error(
      `compute-rollback-target failed (exit ${result.exitCode}):\n${result.errors.join('\n')}\n${result.stderr}`,
    );
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

/** Applies the up migrations in `dir` (golang-migrate unless said otherwise) up to `version`, with the suite's runner. */
export async function migrateTo(
  dir: string,
  db: TestDatabase,
  version: string,
  format: MigrationFormat = 'golang-migrate',
): Promise<void> {
  await migrateDatabase(targetOfUrl(db.url), { migrationsDir: dir, format, to: version });
}

/** The schema and the history rows: what "nothing was changed" is checked against. */
export async function databaseState(
  db: TestDatabase,
  historyTable = 'schema_migrations',
): Promise<{ schema: string; history: unknown[] }> {
  return {
    schema: await schemaOfUrl(db.url),
    history: (await db.query(`SELECT * FROM ${historyTable} ORDER BY 1`)).rows,
  };
}

/** The demo app's release history, in a repository of its own for the describe block this is called in. */
export function useDemoRepo(): { readonly repo: FixtureRepo; readonly dir: string } {
  const state = {} as { repo: FixtureRepo; dir: string };
  beforeAll(() => {
    state.repo = createDemoRepo();
    state.dir = path.join(state.repo.dir, 'db', 'migrations');
  });
  afterAll(() => state.repo.remove());
  return state;
}

import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServices, type TestServices } from './index.js';

let services: TestServices | undefined;
let runTemp: string | undefined;

/** Names the run's temporary directory (test workers inherit it; a nested run sees it too). */
export const RUN_TEMP_ENV = 'RA_TEST_RUN_TEMP';

/**
 * Every temporary file of the run goes below one directory, removed at the end: TMPDIR is set
 * before the services start and the workers are forked, so os.tmpdir() in this process, in every
 * test worker, in every action the harness runs and in every program they start (initdb, podman,
 * ssh, docker-compose...) points there. Cleanup on process 'exit' never runs in jest's workers,
 * and not every test removes what it made: this removal does not depend on either.
 */
export async function setUp(): Promise<void> {
  runTemp = mkdtempSync(path.join(os.tmpdir(), 'rollback-test-'));
  // The postgres OS user must reach its cluster directory below it.
  chmodSync(runTemp, 0o755);
  process.env.TMPDIR = runTemp;
  process.env[RUN_TEMP_ENV] = runTemp;
  try {
    services = await startServices((line) => process.stderr.write(`\n${line}\n`));
  } catch (error) {
    removeRunTemp();
    throw error;
  }
}

function removeRunTemp(): void {
  if (!runTemp) return;
  rmSync(runTemp, { recursive: true, force: true });
  if (existsSync(runTemp)) throw new Error(`The test run's temporary directory ${runTemp} could not be removed.`);
  runTemp = undefined;
}

/** Stops the services (the run's engine goes with everything the tests left in it), then removes the run's temporary directory. */
export async function tearDown(): Promise<void> {
  try {
    await services?.stop();
    services = undefined;
  } finally {
    removeRunTemp();
  }
}

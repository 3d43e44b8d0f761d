import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../../shared/process.js';
import { SERVICE_ENV, startServices, testResourcePrefix, type TestServices } from './index.js';

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

/** Removes containers this run left behind (named with its prefix, compose projects too), stops the services, removes the run's temporary directory. */
export async function tearDown(): Promise<void> {
  try {
    if (!services) return;
    const env = { DOCKER_HOST: process.env[SERVICE_ENV.dockerHost] };
    const prefix = testResourcePrefix();
    const { stdout } = await runProcess('docker', ['ps', '-a', '--format', '{{.ID}} {{.Names}}'], { env, okExitCodes: [0, 1] });
    const leftovers = stdout
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, name]) => name?.startsWith(prefix))
      .map(([id]) => id);
    if (leftovers.length > 0) await runProcess('docker', ['rm', '-f', ...leftovers], { env, okExitCodes: [0, 1] });
    await services.stop();
    services = undefined;
  } finally {
    removeRunTemp();
  }
}

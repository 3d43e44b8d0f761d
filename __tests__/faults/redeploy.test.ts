import { readFileSync, writeFileSync } from 'node:fs';
import { runProcess } from '../../shared/process.js';
import { runAction, startAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { migrateDemoSchema } from '../../testkit/demo-schema.js';
import { startHanger, type TestServer } from '../smoke/support/servers.js';
import { createComposeProject, projectInputs, type ComposeProject } from '../../testkit/compose-project.js';
import { msUntil, processesWith, until } from './support.js';

/**
 * redeploy-tag under faults: the job cancelled while `compose up` replaces a container, a compose
 * file that is valid YAML but not valid compose, a ready-url that never answers.
 */
let database: TestDatabase;
let project: ComposeProject;
let original: string;

beforeAll(async () => {
  database = await createTestDatabase('faults_redeploy');
  await migrateDemoSchema(database.url, 3);
  project = await createComposeProject({ databaseUrl: database.url });
  original = readFileSync(project.file, 'utf8');
});
afterAll(async () => {
  await project?.remove();
  await database?.drop();
});
beforeEach(async () => {
  writeFileSync(project.file, original);
  await project.up('v1.2.0');
  await project.waitHealthy();
});

/** The compose file with extra lines under the api service (after its image line). */
function withApiLines(lines: string[]): string {
  return original.replace(/^( {4}image: .*\n)/m, `$1${lines.map((line) => `    ${line}\n`).join('')}`);
}

it.each([
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)(
  '%s during compose up: compose stopped, the step exits within 5 s with a summary saying the state is unknown, nothing started after',
  async (signal, exitCode) => {
    // The running container's main process is a shell that ignores SIGTERM (PID 1 in its container),
    // so replacing it makes compose wait out a long stop grace period.
    writeFileSync(
      project.file,
      withApiLines(['entrypoint: ["/bin/sh", "-c", "/usr/bin/node /app/index.js & wait"]', 'stop_grace_period: 15s']),
    );
    await project.up('v1.2.0');
    await project.waitHealthy();

    const step = startAction('redeploy-tag', { inputs: projectInputs(project, { tag: 'v1.1.0' }), env: dockerEnv() });
    await until(
      'compose up runs',
      () =>
        step.output().includes('Redeploy: docker-compose') &&
        processesWith(project.name).some((pid) => pid !== step.pid),
      60_000,
    );
    // Let compose reach the stop of the old container.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const sentAt = Date.now();
    step.signal(signal);
    const result = await step.result;
    const exitedMs = Date.now() - sentAt;
    const composeGoneMs = await msUntil(
      'compose gone',
      async () => processesWith(`-p ${project.name} up`).length === 0,
      5000,
      sentAt,
    );
    console.log(
      `redeploy-tag ${signal} during compose up: step exited after ${exitedMs} ms, compose gone after ${composeGoneMs} ms`,
    );

    expect(result.exitCode).toBe(exitCode);
    expect(exitedMs).toBeLessThan(5000);
    expect(result.errors[0]).toContain(`Cancelled by ${signal}`);
    expect(result.errors[0]).toContain('stopped half-way');
    expect(result.summary).toContain('## redeploy-tag: `v1.1.0`: FAILED half-way; check the services');
    expect(result.summary).toContain(`### redeploy-tag cancelled (${signal})`);
    expect(result.summary).toMatch(/- stopped docker-compose \(pid \d+\) with SIGTERM/);
    // No restore was attempted after the cancellation.
    expect(result.log).not.toContain('Restoring api');
    expect(result.outputs.outcome).toBe('error');
    // The engine may still be stopping the old container: start the next test from scratch.
    const ids = (await project.containers()).map((container) => container.id);
    if (ids.length) await runProcess('docker', ['rm', '-f', ...ids], { env: dockerEnv(), okExitCodes: [0, 1] });
  },
);

it('a compose file that is valid YAML but not valid compose: refused before up, nothing changed (no "Restore FAILED")', async () => {
  const before = await project.running();
  writeFileSync(project.file, withApiLines(['restart_policy: always']));
  const result = await runAction('redeploy-tag', {
    inputs: projectInputs(project, { tag: 'v1.1.0' }),
    env: dockerEnv(),
  });
  expect(result.exitCode).toBe(1);
  expect(result.errors[0]).toContain('The compose project is not valid:');
  expect(result.errors[0]).toMatch(/config -q failed on this runner[\s\S]*restart_policy/);
  expect(result.errors[0]).toContain('Nothing was changed.');
  expect(result.outputs.outcome).toBe('refused');
  expect(result.summary).toContain('refused before anything was changed');
  expect(result.summary).not.toContain('Restore FAILED');
  expect(result.log).not.toContain(' up -d ');
  const after = await project.running();
  expect([after.id, after.image]).toEqual([before.id, demoImage('v1.2.0')]);
});

describe('a ready-url that never answers', () => {
  let hanger: TestServer;
  beforeAll(async () => {
    hanger = await startHanger();
  });
  afterAll(() => hanger.close());

  it('fails after health-timeout, restores the previous release without waiting on it again, and logs a few lines, not one per poll', async () => {
    // Long enough for the restore to become healthy on a loaded machine; the test shows it takes less.
    const healthTimeoutMs = 40_000;
    const step = startAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', 'ready-url': `${hanger.url}/ready`, 'health-timeout': '40s' }),
      env: dockerEnv(),
    });
    await until('the restore starts', () => step.output().includes('Restoring api to'), 120_000);
    const restoreStartedAt = Date.now();
    const result = await step.result;
    const restoreMs = Date.now() - restoreStartedAt;
    expect(result.exitCode).toBe(1);
    expect(result.errors.at(-1)).toContain(`ready-url ${hanger.url}/ready did not answer 2xx within 40.0s`);
    expect(result.warnings.join('\n')).toContain(
      `ready-url ${hanger.url}/ready never answered during the redeploy (last: no answer within`,
    );
    expect(result.outputs.outcome).toBe('restored');
    expect((await project.running()).image).toBe(demoImage('v1.2.0'));
    // Polled once, in the redeploy; the restore did not wait on it for another health-timeout.
    expect(result.log.match(/ready-url .* after \d+ attempt\(s\)/g)).toHaveLength(1);
    expect(restoreMs).toBeLessThan(healthTimeoutMs);
    const progress = result.log.split('\n').filter((line) => /^ {2}api: /.test(line));
    console.log(
      `redeploy-tag, ready-url never answering: ${result.durationMs} ms in all, the restore ${restoreMs} ms (health-timeout ${healthTimeoutMs} ms); ${progress.length} progress lines, ${result.log.split('\n').length} log lines`,
    );
    expect(progress.length).toBeLessThanOrEqual(10);
  });
});

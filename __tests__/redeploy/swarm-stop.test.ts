import { runProcess } from '../../shared/process.js';
import { runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { testResourceName } from '../../testkit/services/index.js';
import { createSwarmStack, type SwarmStack } from '../../testkit/swarm-stack.js';

/**
 * stop-services strategy swarm (scale to 0, wait until no task is left, counts recorded) and
 * redeploy-tag's replicas input bringing them back at another tag: the bundled actions against the
 * test engine, a real single-node swarm manager.
 */
describe('stopping swarm services for a database change, and the redeploy restoring their replicas', () => {
  let database: TestDatabase;
  let stack: SwarmStack;

  beforeAll(async () => {
    database = await createTestDatabase('swarm_stop');
    stack = await createSwarmStack({ databaseUrl: database.url, replicas: 2 });
    await stack.deploy('v1.2.0');
  });
  afterAll(async () => {
    await stack?.remove();
    await database?.drop();
  });

  it('scales the api to 0 with its 3 replicas recorded, then redeploy-tag brings 3 healthy tasks back at v1.1.0 (the stack file says 2)', async () => {
    // Scaled by hand beyond the file's count: the recorded count, not the file's, must come back.
    await runProcess('docker', ['service', 'scale', `${stack.name}_api=3`], { env: dockerEnv() });
    const workerBefore = (await stack.current('worker')).map((task) => task.id);
    const stop = await runAction('stop-services', {
      inputs: { strategy: 'swarm', stack: stack.name, services: 'api', timeout: '90s' },
      env: dockerEnv(),
    });
    expect({ exitCode: stop.exitCode, errors: stop.errors }).toEqual({ exitCode: 0, errors: [] });
    expect(JSON.parse(stop.outputs.replicas)).toEqual({ [`${stack.name}_api`]: 3 });
    // No task left running or starting once the step has ended; the worker is not touched.
    const live = (await stack.tasks('api')).filter(
      (task) => !['shutdown', 'complete', 'failed', 'remove'].includes(task.state),
    );
    expect(live).toEqual([]);
    expect((await stack.service('api')).replicas).toBe(0);
    expect((await stack.current('worker')).map((task) => task.id)).toEqual(workerBefore);

    const redeploy = await runAction('redeploy-tag', {
      inputs: {
        strategy: 'swarm',
        stack: stack.name,
        'compose-file': 'stack.yml',
        'working-directory': stack.dir,
        'health-timeout': '90s',
        tag: 'v1.1.0',
        services: 'api',
        replicas: stop.outputs.replicas,
      },
      env: dockerEnv(),
    });
    expect({ exitCode: redeploy.exitCode, errors: redeploy.errors }).toEqual({ exitCode: 0, errors: [] });
    expect(redeploy.outputs.outcome).toBe('deployed');
    expect(JSON.parse(redeploy.outputs['services-json'])).toMatchObject([
      { service: `${stack.name}_api`, replicas: { desired: 3, running: 3 }, failedTasks: [] },
    ]);
    const current = await stack.current('api');
    expect(current.map((task) => [task.image.split('@')[0], task.state])).toEqual([
      [demoImage('v1.1.0'), 'running'],
      [demoImage('v1.1.0'), 'running'],
      [demoImage('v1.1.0'), 'running'],
    ]);
    expect(await stack.health(3)).toEqual({ status: 200, version: 'v1.1.0' });
  });

  it('refuses a global service by name before anything changes (it has no replica count)', async () => {
    const name = testResourceName('global');
    const env = dockerEnv();
    await runProcess(
      'docker',
      [
        'service',
        'create',
        '--detach',
        '--mode',
        'global',
        '--name',
        name,
        '--entrypoint',
        '/bin/sh',
        demoImage('v1.2.0'),
        '-c',
        'sleep 3600',
      ],
      { env },
    );
    try {
      const version = async () =>
        (
          await runProcess('docker', ['service', 'inspect', '--format', '{{.Version.Index}}', name], { env })
        ).stdout.trim();
      const before = await version();
      const stop = await runAction('stop-services', {
        inputs: { strategy: 'swarm', services: name },
        env,
      });
      expect(stop.exitCode).toBe(1);
      expect(stop.errors.join('\n')).toContain(
        `${name} (global) cannot be stopped by scaling to 0 replicas: only replicated services have a replica count. Nothing was changed.`,
      );
      expect(await version()).toBe(before);
    } finally {
      await runProcess('docker', ['service', 'rm', name], { env, okExitCodes: [0, 1] });
    }
  });
});

describe('a redeploy from 0 replicas whose new tasks fail', () => {
  let database: TestDatabase;
  let crashing: SwarmStack;

  beforeAll(async () => {
    database = await createTestDatabase('swarm_stop_fail');
    crashing = await createSwarmStack({
      databaseUrl: database.url,
      crashOn: 'v1.1.0',
      // With no healthcheck and no update to watch, a task is "running" until it exits: the redeploy
      // must keep watching new tasks for the swarm's monitor period (1 s in this stack) rather than
      // pass them at once.
      crashAfterSeconds: 0.5,
      healthcheck: false,
      replicas: 2,
    });
    await crashing.deploy('v1.2.0');
  });
  afterAll(async () => {
    await crashing?.remove();
    await database?.drop();
  });

  /** The api back at its spec before the redeploy: 0 replicas of v1.2.0, no task running or starting. */
  async function expectStoppedAtPrevious(): Promise<void> {
    const api = await crashing.service('api');
    expect([api.reference, api.replicas]).toEqual([demoImage('v1.2.0'), 0]);
    const live = (await crashing.tasks('api')).filter(
      (task) => task.desiredState === 'running' || ['running', 'starting', 'preparing'].includes(task.state),
    );
    expect(live.map((task) => [task.image.split('@')[0], task.state])).toEqual([]);
  }

  it("is rolled back to the previous spec (0 replicas) and reported failed with the task's error, for a stack and for a named service", async () => {
    const stop = await runAction('stop-services', {
      inputs: { strategy: 'swarm', stack: crashing.name, services: 'api', timeout: '90s' },
      env: dockerEnv(),
    });
    expect({ exitCode: stop.exitCode, errors: stop.errors }).toEqual({ exitCode: 0, errors: [] });
    const api = `${crashing.name}_api`;
    expect(JSON.parse(stop.outputs.replicas)).toEqual({ [api]: 2 });

    const viaStack = await runAction('redeploy-tag', {
      inputs: {
        strategy: 'swarm',
        stack: crashing.name,
        'compose-file': 'stack.yml',
        'working-directory': crashing.dir,
        'health-timeout': '90s',
        tag: 'v1.1.0',
        services: 'api',
        replicas: stop.outputs.replicas,
      },
      env: dockerEnv(),
    });
    const viaService = await (async () => {
      await expectStoppedAtPrevious();
      return await runAction('redeploy-tag', {
        inputs: {
          strategy: 'swarm',
          services: api,
          'health-timeout': '90s',
          tag: 'v1.1.0',
          replicas: stop.outputs.replicas,
        },
        env: dockerEnv(),
      });
    })();
    for (const result of [viaStack, viaService]) {
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toMatch(
        /to v1\.1\.0 failed: .*Failing task: \S+_api task [0-9a-z]{12} on \S+ \([0-9a-z]{12}\): "task: non-zero exit \(3\)"/,
      );
      expect(result.log).toMatch(
        /::group::Last 20 log lines of \S+_api \(task container [0-9a-f]{12}\)\n(.*\n)*fatal: export worker cannot start/,
      );
      expect(result.log).toContain(`Rolling back ${api}: docker service rollback --detach ${api}`);
      expect(result.outputs.outcome).toBe('restored');
      const [reported] = JSON.parse(result.outputs['services-json']) as {
        service: string;
        failedTasks: { error: string }[];
      }[];
      expect([reported.service, reported.failedTasks[0].error]).toEqual([api, 'task: non-zero exit (3)']);
      expect(result.log).toContain(
        `on-failure restore-previous: rolled back ${api} to ${demoImage('v1.2.0')} at 0 replicas, stopped as it was`,
      );
    }
    await expectStoppedAtPrevious();
  });
});

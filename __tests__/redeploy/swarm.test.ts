import { runProcess } from '../../shared/process.js';
import { leaksOf, runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { waitFor } from '../../testkit/services/free-port.js';
import { createSwarmStack, type SwarmStack } from '../../testkit/swarm-stack.js';

/**
 * redeploy-tag's swarm strategy end to end: the bundled action as the runner runs it, the docker
 * CLI against the test engine, which is a real single-node swarm manager (Docker Engine, native
 * healthchecks), the demo app images and a real PostgreSQL database.
 */
async function imageId(reference: string): Promise<string> {
  const { stdout } = await runProcess('docker', ['image', 'inspect', '--format', '{{.Id}}', reference], {
    env: dockerEnv(),
  });
  return stdout.trim();
}

async function containerHealth(id: string): Promise<string> {
  const { stdout } = await runProcess('docker', ['container', 'inspect', '--format', '{{.State.Health.Status}}', id], {
    env: dockerEnv(),
  });
  return stdout.trim();
}

function stackInputs(stack: SwarmStack, extra: Record<string, string> = {}): Record<string, string> {
  return {
    strategy: 'swarm',
    stack: stack.name,
    'compose-file': 'stack.yml',
    'working-directory': stack.dir,
    'health-timeout': '90s',
    ...extra,
  };
}

interface SwarmServiceJson {
  service: string;
  ready: boolean;
  previous: { tag: string; imageId: string; containerIds: string[] };
  current: { tag: string; imageId: string; containerIds: string[] };
  replicas?: { desired: number; running: number };
  failedTasks?: { id: string; node?: string; error: string }[];
}

describe('redeploy-tag strategy swarm (a stack on a real swarm manager)', () => {
  let database: TestDatabase;
  let stack: SwarmStack;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_swarm');
    stack = await createSwarmStack({ databaseUrl: database.url, replicas: 2 });
  });
  afterAll(async () => {
    await stack?.remove();
    await database?.drop();
  });
  beforeEach(async () => {
    await stack.deploy('v1.2.0');
  });

  it('rolls a two-service stack from v1.2.0 back to v1.1.0: api tasks replaced and healthy, outputs right, worker untouched', async () => {
    const apiBefore = await stack.current('api');
    const workerBefore = await stack.current('worker');
    const workerSpec = await stack.service('worker');
    const github = await startFakeGitHub({ token: 'ghs_swarmtoken' });
    let result;
    try {
      result = await runAction('redeploy-tag', {
        inputs: stackInputs(stack, {
          tag: 'v1.1.0',
          'ready-url': `${stack.apiUrl(2)}/health`,
          environment: 'production',
        }),
        env: { ...dockerEnv(), ...github.server.env() },
        githubToken: 'ghs_swarmtoken',
      });
      expect(result.errors).toEqual([]);
      expect(result.exitCode).toBe(0);
      const [created] = github.deployments.deployments;
      expect(created).toMatchObject({
        ref: 'v1.1.0',
        environment: 'production',
        description: `redeploy-tag: ${stack.name}_api v1.2.0 -> v1.1.0`,
      });
      expect(created.payload).toMatchObject({
        from: 'v1.2.0',
        to: 'v1.1.0',
        services: [`${stack.name}_api`],
        strategy: 'swarm',
      });
      expect(created.statuses.map((status) => status.state)).toEqual(['in_progress', 'success']);
      expect(result.outputs['deployment-id']).toBe(String(created.id));
    } finally {
      await github.server.stop();
    }

    // Every api task was replaced by one running v1.1.0, which passed its healthcheck.
    const apiAfter = await stack.current('api');
    expect(apiAfter).toHaveLength(2);
    for (const task of apiAfter) {
      expect(task.image.split('@')[0]).toBe(demoImage('v1.1.0'));
      expect(task.state).toBe('running');
      expect(apiBefore.map((old) => old.id)).not.toContain(task.id);
      expect(await containerHealth(task.containerId!)).toBe('healthy');
    }
    const oldNow = (await stack.tasks('api')).filter((task) => apiBefore.some((old) => old.id === task.id));
    expect(oldNow.map((task) => task.state)).toEqual(['shutdown', 'shutdown']);
    expect(await stack.health(1)).toEqual({ status: 200, version: 'v1.1.0' });
    expect(await stack.health(2)).toEqual({ status: 200, version: 'v1.1.0' });
    const api = await stack.service('api');
    expect(api.update).toMatchObject({ state: 'completed' });

    // The other service: same tasks, same spec image, still answering as v1.2.0.
    const workerAfter = await stack.current('worker');
    expect(workerAfter.map((task) => [task.id, task.state, task.containerId])).toEqual(
      workerBefore.map((task) => [task.id, 'running', task.containerId]),
    );
    expect((await stack.service('worker')).taskTemplate).toBe(workerSpec.taskTemplate);
    expect(((await (await fetch(`${stack.workerUrl}/health`)).json()) as { version: string }).version).toBe('v1.2.0');

    expect(result.outputs['previous-tag']).toBe('v1.2.0');
    expect(result.outputs['new-tag']).toBe('v1.1.0');
    expect(result.outputs.outcome).toBe('deployed');
    expect(result.outputs['previous-image-id']).toBe(await imageId(demoImage('v1.2.0')));
    expect(result.outputs['image-id']).toBe(await imageId(demoImage('v1.1.0')));
    expect(result.outputs['image-digest']).toBe('');
    expect((JSON.parse(result.outputs['previous-container-ids']) as string[]).sort()).toEqual(
      apiBefore.map((task) => task.containerId).sort(),
    );
    expect((JSON.parse(result.outputs['container-ids']) as string[]).sort()).toEqual(
      apiAfter.map((task) => task.containerId).sort(),
    );
    expect(Number(result.outputs['duration-ms'])).toBeGreaterThan(0);
    const [service] = JSON.parse(result.outputs['services-json']) as SwarmServiceJson[];
    expect(service).toMatchObject({
      service: `${stack.name}_api`,
      ready: true,
      previous: { tag: 'v1.2.0' },
      current: { tag: 'v1.1.0' },
      replicas: { desired: 2, running: 2 },
      failedTasks: [],
    });

    expect(result.events.find((event) => event.event === 'rollback_start')).toMatchObject({
      from: 'v1.2.0',
      to: 'v1.1.0',
      services: [`${stack.name}_api`],
      strategy: 'swarm',
    });
    expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
      success: true,
      outcome: 'deployed',
      running: 'v1.1.0',
    });
    expect(result.log).toContain(`docker stack deploy -c stack.yml --resolve-image changed ${stack.name}`);
    expect(result.log).toMatch(/ready-url http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/);
    expect(result.summary).toContain(
      '| Service | Replicas running/desired | Image before | Image after | Failed tasks |',
    );
    expect(result.summary).toContain(
      `| ${stack.name}_api | 2/2 | ${demoImage('v1.2.0')} | ${demoImage('v1.1.0')} | none |`,
    );
    expect(result.summary).toContain(`| Tool | \`docker stack deploy (stack ${stack.name})\` |`);
  });

  it("restores the previous spec when the release stays unhealthy, quoting the failing task's healthcheck, and records the failure", async () => {
    const workerBefore = await stack.current('worker');
    const github = await startFakeGitHub({ token: 'ghs_swarmtoken' });
    try {
      const result = await runAction('redeploy-tag', {
        inputs: stackInputs(stack, { tag: 'v1.3.0', environment: 'staging' }),
        env: { ...dockerEnv(), ...github.server.env() },
        githubToken: 'ghs_swarmtoken',
      });
      expect(result.exitCode).toBe(1);
      const error = result.errors.join('\n');
      // The swarm pauses the update, or the failed task is seen first: either way the task is quoted.
      expect(error).toContain(`Redeploy of ${stack.name}_api to v1.3.0 failed: Update of ${stack.name}_api failed: `);
      expect(error).toMatch(
        /Failing task: \S+_api task [0-9a-z]{12} on \S+ \([0-9a-z]{12}\): ".*healthcheck unhealthy: wget: server returned error: HTTP\/1\.1 500 Internal Server Error"/,
      );
      expect(error).toContain(
        `Restored: rolled back ${stack.name}_api to ${demoImage('v1.2.0')} (docker service rollback); every task runs it and is healthy again.`,
      );
      expect(result.outputs.outcome).toBe('restored');
      expect(result.outputs['previous-tag']).toBe('v1.2.0');
      expect(result.outputs['new-tag']).toBe('v1.2.0');
      const [service] = JSON.parse(result.outputs['services-json']) as SwarmServiceJson[];
      expect(service.failedTasks?.[0].error).toContain('HTTP/1.1 500 Internal Server Error');
      expect(service.replicas?.desired).toBe(2);
      expect(result.log).toContain(`docker service rollback --detach ${stack.name}_api`);
      expect(result.summary).toContain('FAILED; previous version restored and healthy');
      expect(result.summary).toMatch(
        new RegExp(
          `\\| ${stack.name}_api \\| \\d/2 \\| ${demoImage('v1.2.0').replace(/[./]/g, '\\$&')} \\| ${demoImage('v1.2.0').replace(/[./]/g, '\\$&')} \\| [0-9a-z]{12} on .*HTTP/1\\.1 500`,
        ),
      );
      const [created] = github.deployments.deployments;
      expect(created.statuses.map((status) => status.state)).toEqual(['in_progress', 'failure']);
      expect(leaksOf(result, 'ghs_swarmtoken')).toEqual([]);
    } finally {
      await github.server.stop();
    }
    const api = await stack.service('api');
    expect(api.reference).toBe(demoImage('v1.2.0'));
    // rollback_completed, or completed when a paused rollback was resumed (docker service update).
    expect(api.update?.state).toMatch(/^(rollback_)?completed$/);
    const current = await stack.current('api');
    expect(current.map((task) => [task.image.split('@')[0], task.state])).toEqual([
      [demoImage('v1.2.0'), 'running'],
      [demoImage('v1.2.0'), 'running'],
    ]);
    for (const task of current) expect(await containerHealth(task.containerId!)).toBe('healthy');
    expect(await stack.health(1)).toEqual({ status: 200, version: 'v1.2.0' });
    expect((await stack.current('worker')).map((task) => task.id)).toEqual(workerBefore.map((task) => task.id));
  });

  it('refuses a tag whose image is on no node, before anything changes: spec and task ids as they were', async () => {
    const before = await stack.service('api');
    const tasksBefore = (await stack.tasks('api')).map((task) => task.id).sort();
    const github = await startFakeGitHub({ token: 'ghs_swarmtoken' });
    try {
      const result = await runAction('redeploy-tag', {
        inputs: stackInputs(stack, { tag: 'v9.9.9', environment: 'production' }),
        env: { ...dockerEnv(), ...github.server.env() },
        githubToken: 'ghs_swarmtoken',
      });
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toMatch(
        new RegExp(
          `Image ${demoImage('v9.9.9').replace(/[./]/g, '\\$&')} is not available on 1 of the 1 node\\(s\\) that would run it: \\S+ \\([0-9a-z]{12}\\): not present, and its registry does not serve it .*Nothing was changed\\.`,
        ),
      );
      expect(result.outputs.outcome).toBe('refused');
      expect(result.outputs['previous-tag']).toBe('v1.2.0');
      expect(result.log).not.toContain('docker stack deploy -c');
      expect(github.deployments.deployments).toEqual([]);
      expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
        success: false,
        outcome: 'refused',
      });
    } finally {
      await github.server.stop();
    }
    const after = await stack.service('api');
    expect(after.version).toBe(before.version);
    expect(after.taskTemplate).toBe(before.taskTemplate);
    expect((await stack.tasks('api')).map((task) => task.id).sort()).toEqual(tasksBefore);
  });

  it('with verify-only checks the image on the nodes and changes nothing, records nothing', async () => {
    const before = await stack.service('api');
    const tasksBefore = (await stack.tasks('api')).map((task) => task.id).sort();
    const verified = await runAction('redeploy-tag', {
      inputs: stackInputs(stack, { tag: 'v1.1.0', 'verify-only': 'true' }),
      env: dockerEnv(),
    });
    expect(verified.errors).toEqual([]);
    expect(verified.outputs.outcome).toBe('verified');
    expect(verified.events).toEqual([]);
    expect(verified.log).toMatch(/localhost\/rollback-demo-app:v1\.1\.0: \S+ \([0-9a-z]{12}\) present\./);
    expect(verified.summary).toContain(
      '## redeploy-tag: `v1.1.0`: image available where it would run; nothing changed (verify-only)',
    );
    const missing = await runAction('redeploy-tag', {
      inputs: stackInputs(stack, { tag: 'v9.9.9', 'verify-only': 'true' }),
      env: dockerEnv(),
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.outputs.outcome).toBe('refused');
    expect(missing.events).toEqual([]);
    const after = await stack.service('api');
    expect(after.version).toBe(before.version);
    expect((await stack.tasks('api')).map((task) => task.id).sort()).toEqual(tasksBefore);
  });

  it('with on-failure: leave, leaves the paused update for inspection', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: stackInputs(stack, { tag: 'v1.3.0', 'on-failure': 'leave' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.outcome).toBe('failed');
    expect(result.errors.join('\n')).toContain('on-failure is "leave"');
    expect(result.log).not.toContain('docker service rollback');
    const api = await stack.service('api');
    expect(api.reference).toBe(demoImage('v1.3.0'));
    // The action stops at the first failing task; the swarm's update monitor marks the update paused
    // on its own a moment later (under load, after the action has returned). Nobody rolls it back.
    const settled = await waitFor(
      'the swarm to pause the failed update',
      async () => {
        const state = (await stack.service('api')).update?.state;
        return state === 'updating' ? undefined : state;
      },
      30_000,
    );
    expect(settled).toBe('paused');
    expect((await stack.service('api')).reference).toBe(demoImage('v1.3.0'));
  });

  it('on the tag already running changes nothing and verifies every task is healthy', async () => {
    const tasksBefore = (await stack.current('api')).map((task) => task.id).sort();
    const result = await runAction('redeploy-tag', { inputs: stackInputs(stack, { tag: 'v1.2.0' }), env: dockerEnv() });
    expect(result.errors).toEqual([]);
    expect(result.outputs.outcome).toBe('unchanged');
    expect((await stack.current('api')).map((task) => task.id).sort()).toEqual(tasksBefore);
    expect(result.log).toMatch(/2\/2 task\(s\) running \S+:v1\.2\.0/);
  });
});

describe('redeploy-tag strategy swarm, more ways services fail and are named', () => {
  let database: TestDatabase;
  let crashing: SwarmStack;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_swarm_more');
    crashing = await createSwarmStack({ databaseUrl: database.url, crashOn: 'v1.1.0', healthcheck: false });
    await crashing.deploy('v1.2.0');
  });
  afterAll(async () => {
    await crashing?.remove();
    await database?.drop();
  });

  it('a release whose tasks exit: the task error and its last log lines are quoted, the previous spec comes back', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: stackInputs(crashing, { tag: 'v1.1.0' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      /Failing task: \S+_api task [0-9a-z]{12} on \S+ \([0-9a-z]{12}\): "task: non-zero exit \(3\)"/,
    );
    expect(result.log).toMatch(
      /::group::Last 20 log lines of \S+_api \(task container [0-9a-f]{12}\)\n(.*\n)*fatal: export worker cannot start/,
    );
    expect(result.outputs.outcome).toBe('restored');
    expect((await crashing.service('api')).reference).toBe(demoImage('v1.2.0'));
    expect(await crashing.health(1)).toEqual({ status: 200, version: 'v1.2.0' });
  });

  it('updates named services with docker service update --image, env-overrides reaching their containers', async () => {
    const name = `${crashing.name}_api`;
    const result = await runAction('redeploy-tag', {
      inputs: {
        strategy: 'swarm',
        services: name,
        tag: 'v1.0.0',
        'env-overrides': 'MARKER=off; $(id)',
        'health-timeout': '90s',
      },
      env: dockerEnv(),
    });
    expect(result.errors).toEqual([]);
    expect(result.outputs.outcome).toBe('deployed');
    expect(result.outputs['previous-tag']).toBe('v1.2.0');
    expect(result.outputs['new-tag']).toBe('v1.0.0');
    expect(result.log).toContain(
      `Updating: docker service update --detach --image ${demoImage('v1.0.0')} --env-add '…' ${name}`,
    );
    const [task] = await crashing.current('api');
    const { stdout } = await runProcess(
      'docker',
      ['container', 'inspect', '--format', '{{json .Config.Env}}', task.containerId!],
      { env: dockerEnv() },
    );
    expect(JSON.parse(stdout) as string[]).toContain('MARKER=off; $(id)');
    expect(await crashing.health(1)).toEqual({ status: 200, version: 'v1.0.0' });
    // The worker, not named, was not touched.
    expect((await crashing.service('worker')).reference).toBe(demoImage('v1.2.0'));
  });

  it('names a service the swarm does not have, and lists those it has, before anything changes', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: { strategy: 'swarm', services: 'no-such-service', tag: 'v1.1.0' },
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(
      'Input "services" names "no-such-service", which is not a service of the swarm on this runner; its services:',
    );
    expect(result.errors[0]).toContain(`${crashing.name}_api`);
  });
});

describe('redeploy-tag strategy swarm, when the swarm rolls back by itself', () => {
  let database: TestDatabase;
  let stack: SwarmStack;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_swarm_auto');
    stack = await createSwarmStack({ databaseUrl: database.url, failureAction: 'rollback' });
    await stack.deploy('v1.2.0');
  });
  afterAll(async () => {
    await stack?.remove();
    await database?.drop();
  });

  it("waits for the swarm's own rollback instead of rolling back a second time (which would return to the failed spec)", async () => {
    const result = await runAction('redeploy-tag', { inputs: stackInputs(stack, { tag: 'v1.3.0' }), env: dockerEnv() });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain('the swarm rolled the update back itself');
    expect(result.log).toContain('the swarm is already rolling it back');
    expect(result.log).not.toContain('docker service rollback --detach');
    expect(result.outputs.outcome).toBe('restored');
    const api = await stack.service('api');
    expect(api.reference).toBe(demoImage('v1.2.0'));
    expect(api.update?.state).toBe('rollback_completed');
    expect(await stack.health(1)).toEqual({ status: 200, version: 'v1.2.0' });
  });
});

describe('redeploy-tag strategy swarm: inputs checked before anything runs', () => {
  it.each([
    [{ strategy: 'swarm', stack: 'shop', tag: 'v1' }, 'Input "compose-file" is required with stack'],
    [{ strategy: 'swarm', tag: 'v1' }, 'Input "services" is required with strategy "swarm" without stack'],
    [
      { strategy: 'compose', stack: 'shop', services: 'api', tag: 'v1' },
      'Input "stack" is only used with strategy "swarm"',
    ],
    [
      { strategy: 'swarm', stack: 'shop', 'compose-file': 'stack.yml', 'project-name': 'shop', tag: 'v1' },
      'Input "project-name" is only used with strategy "compose"',
    ],
    [
      { strategy: 'swarm', services: 'shop_api', 'compose-file': 'stack.yml', tag: 'v1' },
      'Input "compose-file" is only used with stack',
    ],
    [
      { strategy: 'swarm', stack: 'shop', 'compose-file': 'stack.yml', image: 'ghcr.io/acme/api', tag: 'v1' },
      'Input "image" cannot be used with stack',
    ],
    [
      { strategy: 'swarm', stack: 'shop; rm -rf /', 'compose-file': 'stack.yml', tag: 'v1' },
      'Input "stack" must be a stack name',
    ],
    [{ strategy: 'swarm', services: 'api$(id)', tag: 'v1' }, 'Input "services"'],
    [
      { strategy: 'command', command: 'deploy.sh', 'verify-only': 'true', tag: 'v1' },
      'Input "image" is required with verify-only and strategy "command"',
    ],
  ])('%j', async (inputs, message) => {
    const result = await runAction('redeploy-tag', { inputs, env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(message);
    expect(result.events).toEqual([]);
  });
});

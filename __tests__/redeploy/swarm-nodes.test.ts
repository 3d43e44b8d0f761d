import { runProcess } from '../../shared/process.js';
import { runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { buildDemoImages, DEMO_IMAGE } from '../../testkit/services/demo-images.js';
import { joinSwarm, startDockerd, type DockerEngine } from '../../testkit/services/engine.js';
import { startRegistry, type TestRegistry } from '../../testkit/registry.js';
import { freePortDecade } from '../../testkit/swarm-stack.js';

/**
 * A two-node swarm of its own (two private dockerds on this machine, a manager and a worker, each
 * on its own loopback address): images are per node, so a tag can be on the manager and missing
 * on the worker, the case a single-node check never sees. The run's shared engine is not used,
 * so no other test's services can land on the worker.
 */
const image = (tag: string) => `${DEMO_IMAGE}:${tag}`;

describe('redeploy-tag strategy swarm on two nodes', () => {
  let manager: DockerEngine;
  let worker: DockerEngine;
  let database: TestDatabase;
  let registry: TestRegistry;
  let portBase: number;
  const managerEnv = () => ({ DOCKER_HOST: manager.dockerHost });
  const docker = (args: string[]) => runProcess('docker', args, { env: managerEnv(), timeoutMs: 120_000 });
  const tasks = async () => {
    const { stdout } = await docker([
      'service',
      'ps',
      '--filter',
      'desired-state=running',
      '--format',
      '{{.ID}} {{.Image}} {{.Node}} {{.CurrentState}}',
      'api',
    ]);
    // ID, image, node, state (without "x seconds ago", which moves on).
    return stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ').slice(0, 4).join(' '))
      .sort();
  };

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_swarm_nodes');
    [manager, worker] = await Promise.all([startDockerd({ swarm: true }), startDockerd()]);
    // The manager has every release; the worker only v1.2.0, the one running now.
    await Promise.all([buildDemoImages(manager.dockerHost), buildDemoImages(worker.dockerHost, ['v1.2.0'])]);
    portBase = await freePortDecade();
    registry = await startRegistry();
  });
  afterAll(async () => {
    await Promise.all([worker?.stop(), manager?.stop(), registry?.stop()]);
    await database?.drop();
  });

  it('refuses an engine outside any swarm, and a worker, saying where to run instead', async () => {
    const outside = await runAction('redeploy-tag', {
      inputs: { strategy: 'swarm', services: 'api', tag: 'v1.1.0' },
      env: { DOCKER_HOST: worker.dockerHost },
    });
    expect(outside.exitCode).toBe(1);
    expect(outside.errors[0]).toContain(
      'The Docker engine on this runner is not part of a swarm (swarm state: inactive), so strategy "swarm" has nothing to update.',
    );

    // The next test needs the worker in the swarm too.
    const { stdout: token } = await docker(['swarm', 'join-token', '-q', 'worker']);
    await joinSwarm(worker.dockerHost, { managerAddress: manager.swarm!.address, token: token.trim() });
    const onWorker = await runAction('redeploy-tag', {
      inputs: { strategy: 'swarm', services: 'api', tag: 'v1.1.0' },
      env: { DOCKER_HOST: worker.dockerHost },
    });
    expect(onWorker.exitCode).toBe(1);
    expect(onWorker.errors[0]).toContain('is a swarm worker: only a manager can update services.');
    const { stdout: nodes } = await docker(['node', 'ls', '--format', '{{.Status}} {{.Availability}}']);
    expect(nodes.trim().split('\n')).toEqual(['Ready Active', 'Ready Active']);
  });

  it('refuses a tag missing on the worker, naming that node, with the service and its tasks untouched; deploys once the worker has it', async () => {
    // One replica per node, each on its own port (host networking on one machine).
    await docker([
      'service',
      'create',
      '--detach',
      '--name',
      'api',
      '--replicas',
      '2',
      '--replicas-max-per-node',
      '1',
      '--network',
      'host',
      '-e',
      `PORT=${portBase}{{.Task.Slot}}`,
      '-e',
      `DATABASE_URL=${database.url}`,
      '--health-cmd',
      'wget -qO- http://127.0.0.1:$PORT/health',
      '--health-interval',
      '1s',
      '--health-retries',
      '2',
      '--update-monitor',
      '1s',
      '--no-resolve-image',
      image('v1.2.0'),
    ]);
    const { stdout: workerId } = await runProcess('docker', ['info', '--format', '{{.Swarm.NodeID}}'], {
      env: { DOCKER_HOST: worker.dockerHost },
    });
    let before: string[] = [];
    for (let attempt = 0; attempt < 120; attempt++) {
      before = await tasks();
      if (before.length === 2 && before.every((line) => line.endsWith(' Running'))) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(before.filter((line) => line.endsWith(' Running'))).toHaveLength(2);
    const { stdout: specBefore } = await docker([
      'service',
      'inspect',
      '--format',
      '{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}',
      'api',
    ]);

    const refused = await runAction('redeploy-tag', {
      inputs: { strategy: 'swarm', services: 'api', tag: 'v1.1.0' },
      env: managerEnv(),
    });
    expect(refused.exitCode).toBe(1);
    const error = refused.errors.join('\n');
    expect(error).toContain(`Image ${image('v1.1.0')} is not available on 1 of the 2 node(s) that would run it: `);
    expect(error).toContain(`(${workerId.trim().slice(0, 12)}): not present: No such image: ${image('v1.1.0')}`);
    expect(error).toContain('Nothing was changed.');
    expect(refused.outputs.outcome).toBe('refused');
    expect(refused.log).toContain('present'); // the manager's own answer
    const { stdout: specAfter } = await docker([
      'service',
      'inspect',
      '--format',
      '{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}',
      'api',
    ]);
    expect(specAfter).toBe(specBefore);
    expect(await tasks()).toEqual(before);
    // The probe that asked the worker is gone.
    const { stdout: services } = await docker(['service', 'ls', '--format', '{{.Name}}']);
    expect(services.trim()).toBe('api');

    await buildDemoImages(worker.dockerHost, ['v1.1.0']);
    const deployed = await runAction('redeploy-tag', {
      inputs: { strategy: 'swarm', services: 'api', tag: 'v1.1.0', 'health-timeout': '120s' },
      env: managerEnv(),
    });
    expect(deployed.errors).toEqual([]);
    expect(deployed.outputs.outcome).toBe('deployed');
    expect(deployed.log).toMatch(new RegExp(`\\(${workerId.trim().slice(0, 12)}\\) present`));
    const after = await tasks();
    expect(after).toHaveLength(2);
    for (const line of after)
      expect(line).toMatch(new RegExp(`${image('v1.1.0').replace(/[./]/g, '\\$&')} \\S+ Running$`));
    for (const slot of [1, 2])
      expect(
        ((await (await fetch(`http://127.0.0.1:${portBase}${slot}/health`)).json()) as { version: string }).version,
      ).toBe('v1.1.0');
  });

  it("deploys a tag the worker does not have when its registry serves it: the worker pulls it, the spec pinned to the registry's digest", async () => {
    const { stdout: workerId } = await runProcess('docker', ['info', '--format', '{{.Swarm.NodeID}}'], {
      env: { DOCKER_HOST: worker.dockerHost },
    });
    const pushed = await registry.push(manager.dockerHost, image('v1.0.0'), 'rollback-demo-app:v1.0.0');
    const repository = pushed.split(':v1.0.0')[0];
    const missing = await runProcess('docker', ['image', 'inspect', pushed], {
      env: { DOCKER_HOST: worker.dockerHost },
      okExitCodes: [1],
    });
    expect(missing.stderr).toContain('No such image');
    const manifest = await fetch(`http://${registry.address}/v2/rollback-demo-app/manifests/v1.0.0`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    const digest = manifest.headers.get('docker-content-digest');
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const result = await runAction('redeploy-tag', {
      inputs: {
        strategy: 'swarm',
        services: 'api',
        tag: 'v1.0.0',
        image: repository,
        pull: 'always',
        'health-timeout': '120s',
      },
      env: managerEnv(),
    });
    expect(result.errors).toEqual([]);
    expect(result.outputs.outcome).toBe('deployed');
    expect(result.log).toContain(`(${workerId.trim().slice(0, 12)}) pullable from its registry`);
    const [service] = JSON.parse(result.outputs['services-json']) as { current: { image: string; digest: string } }[];
    expect(service.current).toMatchObject({ image: pushed, digest });
    expect(result.outputs['image-digest']).toBe(digest);
    const { stdout: spec } = await docker([
      'service',
      'inspect',
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
      'api',
    ]);
    expect(spec.trim()).toBe(`${pushed}@${digest}`);
    const after = await tasks();
    expect(after).toHaveLength(2);
    for (const line of after) expect(line.split(' ')[1]).toBe(pushed);
    // The worker has it now, pulled by its own task by digest (so without the tag).
    await runProcess('docker', ['image', 'inspect', `${repository}@${digest}`], {
      env: { DOCKER_HOST: worker.dockerHost },
    });
    for (const slot of [1, 2])
      expect(
        ((await (await fetch(`http://127.0.0.1:${portBase}${slot}/health`)).json()) as { version: string }).version,
      ).toBe('v1.0.0');
  });
});

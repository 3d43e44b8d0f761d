import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { detectCompose } from '../../shared/engine/compose.js';
import { composeContainers, inspectContainers, reinspectContainers } from '../../shared/engine/containers.js';
import { localEngineSocket } from '../../shared/engine/engine-api.js';
import { localExecutor, type HostExecutor } from '../../shared/engine/executor.js';
import { inspectImage } from '../../shared/engine/images.js';
import { inspectServices, requireSwarmManager, serviceTasks } from '../../shared/engine/swarm.js';
import { listNodes } from '../../shared/engine/swarm-nodes.js';
import { runProcess } from '../../shared/process.js';
import { demoImage, dockerEnv, engineExecutor, startDemoApp, type RunningDemoApp } from '../../testkit/demo-app.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { waitFor } from '../../testkit/services/free-port.js';
import { testResourceName } from '../../testkit/services/index.js';

/**
 * On the runner, the engine code asks the Engine API over the local socket instead of starting the
 * docker CLI for every look. Both must give the same answers: the CLI path is what runs over SSH.
 */
describe('which engine the CLI would reach, and whether its socket can be asked directly', () => {
  it.each([
    [{}, '/var/run/docker.sock'],
    [{ DOCKER_HOST: 'unix:///tmp/x/docker.sock' }, '/tmp/x/docker.sock'],
    [{ DOCKER_HOST: 'tcp://10.0.0.5:2376' }, undefined],
    [{ DOCKER_HOST: 'ssh://deploy@host' }, undefined],
    [{ DOCKER_CONTEXT: 'prod' }, undefined],
    [{ DOCKER_HOST: 'unix:///tmp/x/docker.sock', DOCKER_TLS_VERIFY: '1' }, undefined],
  ])('%j -> %s', (env, socket) => {
    expect(localEngineSocket({ HOME: '/nonexistent', ...env })).toBe(socket);
  });

  it('leaves a CLI context (docker context use) to the CLI', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-config-'));
    try {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ currentContext: 'prod' }));
      expect(localEngineSocket({ DOCKER_CONFIG: dir })).toBeUndefined();
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ currentContext: 'default' }));
      expect(localEngineSocket({ DOCKER_CONFIG: dir })).toBe('/var/run/docker.sock');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the compose plugin in a docker CLI plugin directory for v2 without running it, and v1 on PATH otherwise', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-config-'));
    const saved = process.env.DOCKER_CONFIG;
    try {
      process.env.DOCKER_CONFIG = dir;
      expect(await detectCompose(localExecutor)).toMatchObject({ kind: 'v1', program: 'docker-compose', baseArgs: [] });
      mkdirSync(path.join(dir, 'cli-plugins'));
      writeFileSync(path.join(dir, 'cli-plugins', 'docker-compose'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      expect(await detectCompose(localExecutor)).toMatchObject({
        kind: 'v2',
        program: 'docker',
        baseArgs: ['compose'],
      });
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Engine API and the docker CLI give the same answers', () => {
  let database: TestDatabase;
  let app: RunningDemoApp;
  const service = testResourceName('api-svc');
  const api = engineExecutor();
  // The same engine through the CLI only, as over SSH.
  const cli: HostExecutor = { description: 'the CLI', run: api.run };

  beforeAll(async () => {
    database = await createTestDatabase('engine_api');
    app = await startDemoApp('v1.2.0', database.url);
    await runProcess(
      'docker',
      [
        'service',
        'create',
        '--detach',
        '--name',
        service,
        '--no-resolve-image',
        '--network',
        'host',
        '--restart-condition',
        'none',
        '--entrypoint',
        '/bin/sleep',
        demoImage('v1.1.0'),
        '600',
      ],
      { env: dockerEnv() },
    );
    await waitFor(
      'the service task to run',
      async () => ((await serviceTasks(cli, [service])).some((task) => task.state === 'running') ? true : undefined),
      60_000,
      250,
    );
  });
  afterAll(async () => {
    await runProcess('docker', ['service', 'rm', service], { env: dockerEnv(), okExitCodes: [0, 1] });
    await app?.remove();
    await database?.drop();
  });

  it('about containers, images, swarm services, tasks and nodes', async () => {
    expect(api.engine?.()).toBeDefined();
    const both = async <T>(ask: (executor: HostExecutor) => Promise<T>) => {
      const [viaApi, viaCli] = await Promise.all([ask(api), ask(cli)]);
      expect(viaApi).toEqual(viaCli);
      return viaApi;
    };
    const [container] = await both((executor) => inspectContainers(executor, [app.containerId]));
    expect(container).toMatchObject({ id: app.containerId, image: demoImage('v1.2.0'), running: true });
    expect(await both((executor) => inspectContainers(executor, [app.containerId, 'f'.repeat(64)]))).toHaveLength(1);
    expect(await both((executor) => reinspectContainers(executor, [app.containerId, 'f'.repeat(64)]))).toBeUndefined();
    expect((await both((executor) => inspectImage(executor, demoImage('v1.2.0'))))?.id).toMatch(
      /^sha256:[0-9a-f]{64}$/,
    );
    expect(await both((executor) => inspectImage(executor, demoImage('v9.9.9')))).toBeUndefined();
    expect(await both((executor) => composeContainers(executor, 'no-such-project'))).toEqual([]);
    const { nodeId } = await both((executor) => requireSwarmManager(executor));
    const [found] = await both((executor) => inspectServices(executor, [service, 'no-such-service']));
    expect(found).toMatchObject({ name: service, reference: demoImage('v1.1.0'), tag: 'v1.1.0', replicas: 1 });
    const tasks = await both((executor) => serviceTasks(executor, [found.id]));
    expect(tasks.some((task) => task.state === 'running' && task.nodeId === nodeId)).toBe(true);
    expect(
      (await both((executor) => listNodes(executor, nodeId))).map((node) => [node.self, node.role, node.ready]),
    ).toEqual([[true, 'manager', true]]);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { freePort, waitFor } from '../../testkit/services/free-port.js';
import { serviceEnv, testResourceName } from '../../testkit/services/index.js';
import { sshActionInputs, startSshServer } from '../../testkit/sshd.js';
import { leaksOf } from '../../testkit/action-harness.js';
import { freePortDecade } from '../../testkit/swarm-stack.js';
import { createDemoRepo, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectSuccess, migrationsOf } from './support.js';

/** "What runs now" read from the engine: the image tag of a running compose service. */
describe('compute-rollback-target reading the current version from a compose service', () => {
  let repo: FixtureRepo;
  let database: TestDatabase;
  let composeDir: string;
  const project = testResourceName('compute');
  const compose = (...args: string[]) =>
    runProcess('docker-compose', ['-p', project, '-f', path.join(composeDir, 'compose.yml'), ...args], {
      env: dockerEnv(),
      timeoutMs: 120_000,
    });

  beforeAll(async () => {
    repo = createDemoRepo();
    database = await createTestDatabase('compute_service');
    composeDir = mkdtempSync(path.join(os.tmpdir(), 'compute-compose-'));
    const port = await freePort();
    writeFileSync(
      path.join(composeDir, 'compose.yml'),
      [
        'version: "3.8"',
        'services:',
        '  web:',
        `    image: ${demoImage('v1.2.0')}`,
        '    network_mode: host',
        '    environment:',
        `      PORT: "${port}"`,
        `      DATABASE_URL: "${database.url}"`,
        '',
      ].join('\n'),
    );
    await compose('up', '-d');
  });
  afterAll(async () => {
    await compose('down', '--timeout', '1').catch(() => undefined);
    rmSync(composeDir, { recursive: true, force: true });
    await database.drop();
    repo.remove();
  });

  it('finds v1.2.0 running as service "web" and plans the rollback to v1.1.0 from there', async () => {
    const result = await compute(
      repo.dir,
      { 'current-from-service': 'web', 'project-name': project, target: 'previous', 'migrations-dir': 'db/migrations' },
      { env: dockerEnv() },
    );
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'current-tag': 'v1.2.0',
      'target-tag': 'v1.1.0',
      strategy: 'down-migrations',
    });
    expect(migrationsOf(result).map((migration) => migration.version)).toEqual(['4']);
    expect(result.summary).toContain(
      `| Current | v1.2.0 (image tag of running compose service ${project}/web (${demoImage('v1.2.0')})) |`,
    );
  });

  it('names the input when no running container belongs to the service', async () => {
    const result = await compute(
      repo.dir,
      { 'current-from-service': 'worker', 'project-name': project, target: 'previous' },
      { env: dockerEnv() },
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      new RegExp(
        `^Input "current-from-service" names service "worker", but no running container of compose project "${project}" belongs to it\\.`,
      ),
    );
  });
});

/** "What runs now" read from a Docker Swarm service on the manager DOCKER_HOST points at. */
describe('compute-rollback-target reading the current version from a swarm service', () => {
  let repo: FixtureRepo;
  let database: TestDatabase;
  const service = testResourceName('compute-svc');
  const docker = (...args: string[]) => runProcess('docker', args, { env: dockerEnv(), timeoutMs: 120_000 });
  const runningImages = async () =>
    (
      await docker(
        'service',
        'ps',
        '--filter',
        'desired-state=running',
        '--format',
        '{{.Image}} {{.CurrentState}}',
        service,
      )
    ).stdout;

  beforeAll(async () => {
    repo = createDemoRepo();
    database = await createTestDatabase('compute_swarm');
    const portBase = await freePortDecade();
    await docker(
      'service',
      'create',
      '--detach',
      '--name',
      service,
      '--replicas',
      '2',
      '--network',
      'host',
      '--no-resolve-image',
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
      '--update-failure-action',
      'pause',
      '--update-monitor',
      '1s',
      demoImage('v1.2.0'),
    );
    await waitFor(
      'both tasks running',
      async () => ((await runningImages()).match(/ Running /g)?.length === 2 ? true : undefined),
      90_000,
      500,
    );
  });
  afterAll(async () => {
    await docker('service', 'rm', service).catch(() => undefined);
    await database.drop();
    repo.remove();
  });

  it('finds v1.2.0 running as the swarm service and plans the rollback to v1.1.0 from there', async () => {
    const result = await compute(
      repo.dir,
      { 'current-from-swarm-service': service, target: 'previous', 'migrations-dir': 'db/migrations' },
      { env: dockerEnv() },
    );
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'current-tag': 'v1.2.0',
      'target-tag': 'v1.1.0',
      strategy: 'down-migrations',
    });
    expect(result.summary).toContain(
      `| Current | v1.2.0 (image tag of swarm service ${service} (${demoImage('v1.2.0')})) |`,
    );
  });

  it('reads it on the swarm manager over SSH (real sshd), the runner without an engine', async () => {
    const server = await startSshServer({ env: { DOCKER_HOST: serviceEnv('dockerHost') } });
    try {
      const result = await compute(
        repo.dir,
        {
          'current-from-swarm-service': service,
          target: 'previous',
          'migrations-dir': 'db/migrations',
          ...sshActionInputs(server),
        },
        { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } },
      );
      expectSuccess(result);
      expect(result.outputs).toMatchObject({ 'current-tag': 'v1.2.0', 'target-tag': 'v1.1.0' });
      expect(result.summary).toContain(
        `| Current | v1.2.0 (image tag of swarm service ${service} on \`${server.user}@127.0.0.1:${server.port}\` (${demoImage('v1.2.0')})) |`,
      );
      expect(leaksOf(result, server.privateKey)).toEqual([]);
      const refused = await compute(repo.dir, { target: 'previous', current: 'v1.2.0', ...sshActionInputs(server) });
      expect(refused.exitCode).toBe(1);
      expect(refused.errors[0]).toContain(
        'Input "ssh-host" is set but neither "current-from-swarm-service" nor "ledger" is',
      );
    } finally {
      await server.stop();
    }
  });

  it('reads the ledger and the swarm service on the deploy host over one SSH connection, closed once', async () => {
    const server = await startSshServer({ env: { DOCKER_HOST: serviceEnv('dockerHost') } });
    // ssh on PATH notes its arguments, then runs the real client: each executor has its own ControlPath.
    const shim = mkdtempSync(path.join(os.tmpdir(), 'ssh-shim-'));
    const sshCalls = path.join(shim, 'calls');
    try {
      const ssh = (await runProcess('sh', ['-c', 'command -v ssh'])).stdout.trim();
      writeFileSync(path.join(shim, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${sshCalls}'\nexec '${ssh}' "$@"\n`, {
        mode: 0o755,
      });
      const result = await compute(
        repo.dir,
        {
          'current-from-swarm-service': service,
          ledger: path.join(shim, 'no-entries-yet.jsonl'),
          target: 'previous',
          'migrations-dir': 'db/migrations',
          ...sshActionInputs(server),
        },
        {
          env: {
            DOCKER_HOST: 'unix:///nonexistent/docker.sock',
            PATH: `${shim}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          },
        },
      );
      expectSuccess(result);
      expect(result.outputs).toMatchObject({ 'current-tag': 'v1.2.0', 'target-tag': 'v1.1.0' });
      expect(result.summary).toContain(`no-entries-yet.jsonl on ${server.user}@127.0.0.1:${server.port}: 0 entries.`);
      const calls = readFileSync(sshCalls, 'utf8').trim().split('\n');
      const connections = new Set(calls.map((call) => /ControlPath=(\S+)/.exec(call)?.[1]));
      expect(connections.size).toBe(1);
      expect(calls.filter((call) => / -O exit /.test(call))).toHaveLength(1);
    } finally {
      rmSync(shim, { recursive: true, force: true });
      await server.stop();
    }
  });

  it('names the input for a service the swarm does not have, and refuses both sources at once', async () => {
    const missing = await compute(
      repo.dir,
      { 'current-from-swarm-service': 'no-such-service', target: 'previous' },
      { env: dockerEnv() },
    );
    expect(missing.exitCode).toBe(1);
    expect(missing.errors[0]).toMatch(
      /^Input "current-from-swarm-service" names "no-such-service", which is not a service of the swarm DOCKER_HOST points at\./,
    );
    const both = await compute(
      repo.dir,
      { 'current-from-swarm-service': service, 'current-from-service': 'web', target: 'previous' },
      { env: dockerEnv() },
    );
    expect(both.exitCode).toBe(1);
    expect(both.errors[0]).toContain('Input "current-from-swarm-service" and "current-from-service" are both set');
  });

  it('refuses to guess while an update is stuck half-way (tasks on two versions)', async () => {
    // v1.3.0 never passes its healthcheck: the first task's update fails and the update pauses, the other task still on v1.2.0.
    await docker('service', 'update', '--detach', '--image', demoImage('v1.3.0'), service);
    await waitFor(
      'the update to pause',
      async () =>
        (await docker('service', 'inspect', '--format', '{{.UpdateStatus.State}}', service)).stdout.trim() === 'paused'
          ? true
          : undefined,
      90_000,
      500,
    );
    const result = await compute(
      repo.dir,
      { 'current-from-swarm-service': service, target: 'previous' },
      { env: dockerEnv() },
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(
      `Swarm service "${service}" runs several versions at once (${demoImage('v1.3.0')}, ${demoImage('v1.2.0')}; update state paused)`,
    );
  });
});

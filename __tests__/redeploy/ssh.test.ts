import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ActionError } from '../../shared/errors.js';
import { openSshExecutor, type SshExecutor } from '../../shared/engine/ssh.js';
import { runProcess } from '../../shared/process.js';
import { leaksOf, runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { serviceEnv } from '../../testkit/services/index.js';
import { startSshServer, type TestSshServer } from '../../testkit/sshd.js';
import { createComposeProject, type ComposeProject } from '../../testkit/compose-project.js';
import { createSwarmStack, type SwarmStack } from '../../testkit/swarm-stack.js';

/**
 * The SSH path against a real OpenSSH server on 127.0.0.1 with throwaway keys. The "remote" host
 * is this machine, so its compose files and engine are the test's own; what is under test is that
 * every command and argument crosses ssh intact and inert, and that host keys are checked.
 */
const sshTempDirs = () => readdirSync(os.tmpdir()).filter((name) => name.startsWith('ra-ssh-'));

// One sshd for the whole file; a test that needs a host to itself (to crash it) starts its own.
let server: TestSshServer;
beforeAll(async () => {
  // DEMO_REGISTRY: a variable only the deploy host's login environment has (the swarm stack's file reads it).
  server = await startSshServer({ env: { DOCKER_HOST: serviceEnv('dockerHost'), DEMO_REGISTRY: 'localhost' } });
});
afterAll(async () => {
  await server?.stop();
});

describe('SSH executor (real sshd)', () => {
  let executor: SshExecutor;
  let scratch: string;

  beforeAll(async () => {
    executor = await openSshExecutor({
      host: server.host,
      port: server.port,
      user: server.user,
      privateKey: server.privateKey,
      knownHosts: server.knownHosts,
    });
    scratch = mkdtempSync(path.join(os.tmpdir(), 'redeploy-ssh-'));
  });
  afterAll(async () => {
    await executor?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('passes every argument to the remote command literally: metacharacters stay inert', async () => {
    const canary = path.join(scratch, 'pwned');
    const args = [
      'v1; rm -rf /',
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `x' ; touch ${canary}; echo '`,
      'it\'s "quoted"',
      'two\nlines',
      '*',
      '~',
      '$HOME',
      '--help',
      '',
      'a\\b',
      '&& touch x |',
    ];
    const { stdout } = await executor.run('printf', ['%s\\n', ...args]);
    expect(stdout).toBe(`${args.join('\n')}\n`);
    expect(existsSync(canary)).toBe(false);
  });

  it('sets environment values and the working directory literally too', async () => {
    const canary = path.join(scratch, 'pwned-env');
    // A directory name cannot hold "/", so the injected command writes relative to wherever it would run.
    const dir = path.join(scratch, `-dir with 'quotes' and $(touch pwned-env) \`touch pwned-env\``);
    mkdirSync(dir);
    const value = `off; touch ${canary}; $(touch ${canary})`;
    const { stdout } = await executor.run('sh', ['-c', 'printf "%s|%s" "$MARKER" "$(pwd)"'], {
      cwd: dir,
      env: { MARKER: value },
    });
    expect(stdout).toBe(`${value}|${dir}`);
    expect(existsSync(canary)).toBe(false);
    expect(existsSync(path.join(os.homedir(), 'pwned-env'))).toBe(false);
    expect(readdirSync(scratch)).not.toContain('pwned-env');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps environment values out of every command line on the runner and the host, and leaves no env file', async () => {
    const secret = `pw-${Date.now()}-not-in-ps`;
    // The remote command runs for a while; meanwhile every process's arguments (ssh here, the shell there) are read.
    const running = executor.run('sh', ['-c', 'sleep 1.5; printf %s "$PGPASSWORD"'], { env: { PGPASSWORD: secret } });
    const seen: string[] = [];
    for (let round = 0; round < 10; round += 1) {
      seen.push((await runProcess('ps', ['-eww', '-o', 'args='])).stdout);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await running).stdout).toBe(secret);
    expect(seen.join('\n')).toContain('sleep 1.5');
    expect(seen.join('\n')).not.toContain(secret);
    // mktemp's files on the host (here the same /tmp): none is left holding the value.
    const leftovers = readdirSync(os.tmpdir())
      .map((name) => path.join(os.tmpdir(), name))
      .filter((file) => path.basename(file).startsWith('tmp.') && statSync(file).isFile());
    expect(leftovers.filter((file) => readFileSync(file, 'utf8').includes(secret))).toEqual([]);
  });

  it('reaches the engine the session environment points at, over one shared connection', async () => {
    const { stdout } = await executor.run('docker', ['image', 'inspect', '--format', '{{.Id}}', demoImage('v1.2.0')]);
    const local = await runProcess('docker', ['image', 'inspect', '--format', '{{.Id}}', demoImage('v1.2.0')], {
      env: dockerEnv(),
    });
    expect(stdout.trim()).toBe(local.stdout.trim());
    expect(executor.description).toBe(`${server.user}@127.0.0.1:${server.port}`);
  });

  it('reports a remote failure with the command and host, not the ssh command line', async () => {
    await expect(executor.run('docker', ['image', 'inspect', 'no-such-image:v0'])).rejects.toThrow(
      new RegExp(
        `docker image inspect no-such-image:v0 \\(on ${server.user}@127\\.0\\.0\\.1:${server.port}\\) exited with code 1`,
      ),
    );
  });

  it('refuses a host whose key is not the one in known-hosts, and says what to do', async () => {
    const opened = openSshExecutor({
      host: server.host,
      port: server.port,
      user: server.user,
      privateKey: server.privateKey,
      knownHosts: server.wrongKnownHosts,
    });
    await expect(opened).rejects.toBeInstanceOf(ActionError);
    await expect(opened).rejects.toThrow(/Host key verification failed/);
    await expect(opened).rejects.toMatchObject({ hint: expect.stringContaining('ssh-keyscan') });
  });

  it('trusts the first key only with accept-new, and a wrong user key is refused with a hint', async () => {
    const accepting = await openSshExecutor({
      host: server.host,
      port: server.port,
      user: server.user,
      privateKey: server.privateKey,
      knownHosts: 'accept-new',
    });
    expect((await accepting.run('echo', ['ok'])).stdout).toBe('ok\n');
    await accepting.close();

    const otherKey = path.join(scratch, 'other_key');
    await runProcess('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const refused = openSshExecutor({
      host: server.host,
      port: server.port,
      user: server.user,
      privateKey: readFileSync(otherKey, 'utf8'),
      knownHosts: server.knownHosts,
    });
    await expect(refused).rejects.toThrow(/Permission denied/);
    await expect(refused).rejects.toMatchObject({ hint: expect.stringContaining('authorized_keys') });
  });

  it('deletes its key and known_hosts files on close', async () => {
    const before = sshTempDirs();
    const second = await openSshExecutor({
      host: server.host,
      port: server.port,
      user: server.user,
      privateKey: server.privateKey,
      knownHosts: server.knownHosts,
    });
    const created = sshTempDirs().filter((name) => !before.includes(name));
    expect(created).toHaveLength(1);
    const dir = path.join(os.tmpdir(), created[0]);
    expect(statSync(path.join(dir, 'id')).mode & 0o777).toBe(0o600);
    await second.close();
    expect(existsSync(dir)).toBe(false);
  });
});

describe('redeploy-tag over SSH (real sshd, compose on the "remote" host)', () => {
  let database: TestDatabase;
  let project: ComposeProject;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_ssh');
    project = await createComposeProject({ databaseUrl: database.url });
    await project.up('v1.2.0');
    await project.waitHealthy();
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });

  const sshInputs = (extra: Record<string, string>) => ({
    // No compose-file and no project-name: compose finds docker-compose.yml and derives the project, remotely.
    'working-directory': project.dir,
    services: 'api',
    'health-timeout': '60s',
    'ssh-host': server.host,
    'ssh-port': String(server.port),
    'ssh-user': server.user,
    'ssh-key': server.privateKey,
    'known-hosts': server.knownHosts,
    ...extra,
  });

  it('performs the same redeploy v1.2.0 -> v1.1.0 on the remote host, env-overrides inert, key never shown', async () => {
    const before = await project.running();
    const canary = path.join(project.dir, 'pwned');
    const marker = `off'; touch ${canary}; echo '$(touch ${canary})`;
    const tempBefore = sshTempDirs();
    const result = await runAction('redeploy-tag', {
      inputs: sshInputs({
        tag: 'v1.1.0',
        'env-overrides': `MARKER=${marker}`,
        'ready-url': `${project.baseUrl}/health`,
      }),
      // The runner itself has no engine: everything must happen through ssh.
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    const after = await project.running();
    expect(after.image).toBe(demoImage('v1.1.0'));
    expect(after.id).not.toBe(before.id);
    expect(after.labels['com.docker.compose.project']).toBe(project.name);
    expect(await project.health()).toEqual({ status: 200, body: { status: 'ok', version: 'v1.1.0' } });
    const { stdout } = await runProcess('docker', ['inspect', '--format', '{{json .Config.Env}}', after.id], {
      env: dockerEnv(),
    });
    expect(JSON.parse(stdout) as string[]).toContain(`MARKER=${marker}`);
    expect(existsSync(canary)).toBe(false);

    expect(result.outputs['previous-tag']).toBe('v1.2.0');
    expect(result.outputs['new-tag']).toBe('v1.1.0');
    expect(JSON.parse(result.outputs['container-ids'])).toEqual([after.id]);
    expect(result.log).toContain(`on ${server.user}@127.0.0.1:${server.port} (docker-compose 1.29.2 (v1))`);
    expect(result.summary).toContain(`| Host | \`${server.user}@127.0.0.1:${server.port}\` |`);
    expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
      success: true,
      from: 'v1.2.0',
      to: 'v1.1.0',
    });

    expect(leaksOf(result, server.privateKey)).toEqual([]);
    for (const line of server.privateKey.split('\n').filter((text) => text.length > 20 && !text.startsWith('-----')))
      expect(leaksOf(result, line)).toEqual([]);
    expect(sshTempDirs().filter((name) => !tempBefore.includes(name))).toEqual([]);
  });

  it('refuses a host key that does not match known-hosts before looking at anything; the service keeps running', async () => {
    const before = await project.running();
    const result = await runAction('redeploy-tag', {
      inputs: sshInputs({ tag: 'v1.2.0', 'known-hosts': server.wrongKnownHosts }),
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(
      `ssh to ${server.user}@127.0.0.1:${server.port} failed: Host key verification failed.`,
    );
    expect(result.errors[0]).toContain('Hint:');
    expect(result.events).toEqual([]);
    expect((await project.running()).id).toBe(before.id);
  });

  it('when the host goes away half-way, fails with the cause and closes the GitHub deployment as failure (never left in_progress)', async () => {
    await project.up('v1.2.0');
    await project.waitHealthy();
    // A host of its own: this one is cut off in the middle of the redeploy.
    const doomed = await startSshServer({ env: { DOCKER_HOST: serviceEnv('dockerHost') } });
    const github = await startFakeGitHub({ token: 'ghs_redeploytoken' });
    // The ready-url is the moment to strike: compose up is done, the action is now watching the containers over ssh.
    let probes = 0;
    const readiness = createServer((_request, response) => {
      probes += 1;
      void (probes === 1 ? doomed.crash() : Promise.resolve()).then(() => response.writeHead(503).end('not yet'));
    });
    await new Promise<void>((resolve) => readiness.listen(0, '127.0.0.1', resolve));
    const { port } = readiness.address() as AddressInfo;
    try {
      const result = await runAction('redeploy-tag', {
        inputs: {
          ...sshInputs({
            tag: 'v1.1.0',
            'ready-url': `http://127.0.0.1:${port}/readyz`,
            'health-timeout': '30s',
            environment: 'staging',
            'complete-deployment': 'false',
          }),
          'ssh-port': String(doomed.port),
          'known-hosts': doomed.knownHosts,
          'ssh-key': doomed.privateKey,
        },
        env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock', ...github.server.env() },
        githubToken: 'ghs_redeploytoken',
      });
      expect(probes).toBeGreaterThan(0);
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toMatch(
        new RegExp(
          `Redeploy of api to v1\\.1\\.0 stopped half-way: ssh to ${doomed.user}@127\\.0\\.0\\.1:${doomed.port} failed: .*Connection refused`,
        ),
      );
      expect(result.errors.join('\n')).toContain('look at them before running this again');
      expect(result.summary).toMatch(/\| api \| v1\.2\.0 \| v1\.1\.0 \| [0-9a-f]{12} \| unknown \|/);
      expect(result.outputs.outcome).toBe('error');
      const [created] = github.deployments.deployments;
      // complete-deployment: false defers only a success; a failure is always recorded.
      expect(created.statuses.map((status) => status.state)).toEqual(['in_progress', 'failure']);
      expect(result.outputs['deployment-id']).toBe(String(created.id));
      expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
        success: false,
        outcome: 'error',
        to: 'v1.1.0',
        deployment_id: created.id,
      });
      expect(result.summary).toContain('FAILED half-way');
      expect(leaksOf(result, doomed.privateKey)).toEqual([]);
    } finally {
      await new Promise((resolve) => readiness.close(resolve));
      await github.server.stop();
      await doomed.stop();
    }
  });
});

describe('redeploy-tag strategy swarm over SSH to the manager (real sshd)', () => {
  let database: TestDatabase;
  let stack: SwarmStack;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_ssh_swarm');
    // The image's registry comes from the manager's environment: only the manager can resolve the file.
    stack = await createSwarmStack({
      databaseUrl: database.url,
      image: '${DEMO_REGISTRY}/rollback-demo-app:${IMAGE_TAG}',
    });
    await stack.deploy('v1.2.0', { DEMO_REGISTRY: 'localhost' });
  });
  afterAll(async () => {
    await stack?.remove();
    await database?.drop();
  });

  it('deploys the stack on the manager from its files there, every argument inert, the key never shown', async () => {
    const before = await stack.current('api');
    const worker = await stack.current('worker');
    const canary = path.join(stack.dir, 'pwned');
    const marker = `off'; touch ${canary}; echo '$(touch ${canary})`;
    const tempBefore = sshTempDirs();
    const result = await runAction('redeploy-tag', {
      inputs: {
        strategy: 'swarm',
        stack: stack.name,
        'compose-file': 'stack.yml',
        'working-directory': stack.dir,
        tag: 'v1.1.0',
        'env-overrides': `MARKER=${marker}`,
        'health-timeout': '90s',
        'ssh-host': server.host,
        'ssh-port': String(server.port),
        'ssh-user': server.user,
        'ssh-key': server.privateKey,
        'known-hosts': server.knownHosts,
      },
      // The runner has no engine: everything happens on the manager, through ssh.
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs['previous-tag']).toBe('v1.2.0');
    expect(result.outputs['new-tag']).toBe('v1.1.0');
    expect(result.outputs.outcome).toBe('deployed');
    expect(result.log).toContain(
      `on ${server.user}@127.0.0.1:${server.port} (docker stack deploy (stack ${stack.name}))`,
    );
    expect(result.summary).toContain(`| Host | \`${server.user}@127.0.0.1:${server.port}\` |`);

    const [task] = await stack.current('api');
    expect(task.id).not.toBe(before[0].id);
    expect(task.image.split('@')[0]).toBe(demoImage('v1.1.0'));
    expect(await stack.health()).toEqual({ status: 200, version: 'v1.1.0' });
    const { stdout } = await runProcess('docker', ['inspect', '--format', '{{json .Config.Env}}', task.containerId!], {
      env: dockerEnv(),
    });
    expect(JSON.parse(stdout) as string[]).toContain(`MARKER=${marker}`);
    expect(existsSync(canary)).toBe(false);
    expect((await stack.current('worker')).map((entry) => entry.id)).toEqual(worker.map((entry) => entry.id));

    expect(leaksOf(result, server.privateKey)).toEqual([]);
    expect(sshTempDirs().filter((name) => !tempBefore.includes(name))).toEqual([]);
  });
});

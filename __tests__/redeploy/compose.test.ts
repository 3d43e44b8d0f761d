import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getOctokit } from '@actions/github';
import { completeDeployment } from '../../shared/github/deployments.js';
import { runProcess } from '../../shared/process.js';
import { leaksOf, runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { migrateDemoSchema } from '../../testkit/demo-schema.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import {
  composeFileText,
  createComposeProject,
  projectInputs,
  type ComposeProject,
} from '../../testkit/compose-project.js';

/**
 * redeploy-tag's compose strategy end to end: the bundled action run as the runner runs it,
 * docker-compose v1 against the real engine, the demo app images, a real PostgreSQL database.
 * The database is at schema 3: v1.2.0 serves /health there but its /readyz says its migrations are
 * not current; v1.1.0 (the rollback target) is ready on it.
 */
async function imageId(reference: string): Promise<string> {
  const { stdout } = await runProcess('docker', ['image', 'inspect', '--format', '{{.Id}}', reference], {
    env: dockerEnv(),
  });
  return stdout.trim();
}

describe('redeploy-tag (compose on the runner)', () => {
  let database: TestDatabase;
  let project: ComposeProject;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy');
    await migrateDemoSchema(database.url, 3);
    project = await createComposeProject({ databaseUrl: database.url });
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });
  beforeEach(async () => {
    // Every test starts from the release that is live before the rollback.
    await project.up('v1.2.0');
    await project.waitHealthy();
  });

  it('rolls v1.2.0 back to v1.1.0 and proves it: image, /health, /readyz, outputs, events, summary', async () => {
    const before = await project.running();
    expect(before.tag).toBe('v1.2.0');
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', 'ready-url': `${project.baseUrl}/readyz` }),
      env: dockerEnv(),
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);

    const after = await project.running();
    expect(after.image).toBe(demoImage('v1.1.0'));
    expect(after.id).not.toBe(before.id);
    expect(after.health).toBe('healthy');
    expect(await project.health()).toEqual({ status: 200, body: { status: 'ok', version: 'v1.1.0' } });
    const ready = await fetch(`${project.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ migrations_current: true });

    expect(result.outputs['previous-tag']).toBe('v1.2.0');
    expect(result.outputs['new-tag']).toBe('v1.1.0');
    expect(result.outputs['previous-image-id']).toBe(before.imageId);
    expect(result.outputs['previous-image-digest']).toBe('');
    expect(JSON.parse(result.outputs['previous-container-ids'])).toEqual([before.id]);
    expect(result.outputs['image-id']).toBe(await imageId(demoImage('v1.1.0')));
    // Built locally, never pushed: no RepoDigest, so no registry digest.
    expect(result.outputs['image-digest']).toBe('');
    expect(JSON.parse(result.outputs['container-ids'])).toEqual([after.id]);
    expect(result.outputs.outcome).toBe('deployed');
    expect(result.outputs['deployment-id']).toBe('');
    expect(Number(result.outputs['duration-ms'])).toBeGreaterThan(0);
    expect(Number(result.outputs['duration-ms'])).toBeLessThanOrEqual(result.durationMs);
    const [service] = JSON.parse(result.outputs['services-json']) as {
      service: string;
      ready: boolean;
      previous: { tag: string };
      current: { tag: string };
    }[];
    expect(service).toMatchObject({
      service: 'api',
      ready: true,
      previous: { tag: 'v1.2.0' },
      current: { tag: 'v1.1.0' },
    });

    const start = result.events.find((event) => event.event === 'rollback_start');
    const complete = result.events.find((event) => event.event === 'rollback_complete');
    expect(start).toMatchObject({ from: 'v1.2.0', to: 'v1.1.0', services: ['api'], strategy: 'compose' });
    expect(complete).toMatchObject({ from: 'v1.2.0', to: 'v1.1.0', success: true, outcome: 'deployed' });
    expect(complete?.duration_ms).toBe(Number(result.outputs['duration-ms']));

    expect(result.summary).toContain('| Service | From | To | Container | Health | Duration |');
    expect(result.summary).toMatch(
      new RegExp(`\\| api \\| v1\\.2\\.0 \\| v1\\.1\\.0 \\| ${after.id.slice(0, 12)} \\| running, healthy \\| \\d`),
    );
    expect(result.log).toContain('docker-compose');
    expect(result.log).toContain('--no-deps');
  });

  it('starts compose once for a valid project: no `config` run before `up` (what the README promises)', async () => {
    // docker-compose on PATH is a shim that notes each start, then runs the real one.
    const shimDir = mkdtempSync(path.join(os.tmpdir(), 'compose-shim-'));
    const calls = path.join(shimDir, 'calls');
    try {
      const real = (await runProcess('sh', ['-c', 'command -v docker-compose'])).stdout.trim();
      writeFileSync(
        path.join(shimDir, 'docker-compose'),
        `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\nexec '${real}' "$@"\n`,
      );
      chmodSync(path.join(shimDir, 'docker-compose'), 0o755);
      const result = await runAction('redeploy-tag', {
        inputs: projectInputs(project, { tag: 'v1.1.0' }),
        env: { ...dockerEnv(), PATH: `${shimDir}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      });
      expect({ exitCode: result.exitCode, errors: result.errors }).toEqual({ exitCode: 0, errors: [] });
      const starts = readFileSync(calls, 'utf8').trim().split('\n');
      expect(starts.some((args) => /(^|\s)up(\s|$)/.test(args))).toBe(true);
      expect(starts.filter((args) => /(^|\s)config(\s|$)/.test(args))).toEqual([]);
    } finally {
      rmSync(shimDir, { recursive: true, force: true });
    }
  });

  it('refuses a tag whose image does not exist before stopping anything: the old container keeps running', async () => {
    const before = await project.running();
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v9.9.9' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      /Image localhost\/rollback-demo-app:v9\.9\.9 could not be pulled .* and is not there already\. Nothing was stopped\./,
    );
    const after = await project.running();
    expect(after.id).toBe(before.id);
    expect(after.startedAt).toBe(before.startedAt);
    expect(after.restartCount).toBe(before.restartCount);
    expect((await project.health()).body.version).toBe('v1.2.0');
    expect(result.outputs.outcome).toBe('refused');
    expect(result.outputs['previous-tag']).toBe('v1.2.0');
    expect(JSON.parse(result.outputs['container-ids'])).toEqual([before.id]);
    expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
      success: false,
      outcome: 'refused',
      to: 'v9.9.9',
    });
    expect(result.log).not.toContain('up -d');

    const never = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v9.9.9', pull: 'never' }),
      env: dockerEnv(),
    });
    expect(never.exitCode).toBe(1);
    expect(never.errors.join('\n')).toContain(
      'is not on the engine on this runner, and pull is "never". Nothing was stopped.',
    );
    expect((await project.running()).id).toBe(before.id);
  });

  it('fails on the broken v1.3.0, names the unhealthy service with its logs, restores v1.2.0 healthy, and records it on GitHub', async () => {
    const github = await startFakeGitHub({ token: 'ghs_redeploytoken' });
    try {
      const earlier = github.deployments.seed('acme', 'shop', 'production', 'v1.2.0', 'success');
      const before = await project.running();
      const result = await runAction('redeploy-tag', {
        inputs: projectInputs(project, {
          tag: 'v1.3.0',
          'on-failure': 'restore-previous',
          'ready-url': `${project.baseUrl}/health`,
          environment: 'production',
        }),
        env: { ...dockerEnv(), ...github.server.env() },
        githubToken: 'ghs_redeploytoken',
      });
      expect(result.exitCode).toBe(1);
      const error = result.errors.join('\n');
      expect(error).toContain('Service "api" did not become healthy');
      expect(error).toContain('unhealthy');
      expect(error).toContain('HTTP/1.1 500');
      expect(error).toMatch(/Restored: restored api to v1\.2\.0; running and healthy again/);
      // The failed container's last log lines are in the log, in a group.
      expect(result.log).toMatch(/::group::Last 20 log lines of api \([0-9a-f]{12}\)\n.*"version":"v1\.3\.0"/);

      const after = await project.running();
      expect(after.image).toBe(demoImage('v1.2.0'));
      expect(after.id).not.toBe(before.id);
      expect(after.health).toBe('healthy');
      expect(await project.health()).toEqual({ status: 200, body: { status: 'ok', version: 'v1.2.0' } });

      expect(result.outputs.outcome).toBe('restored');
      expect(result.outputs['previous-tag']).toBe('v1.2.0');
      expect(result.outputs['new-tag']).toBe('v1.2.0');
      expect(JSON.parse(result.outputs['container-ids'])).toEqual([after.id]);
      expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
        from: 'v1.2.0',
        to: 'v1.3.0',
        success: false,
        outcome: 'restored',
        restored: true,
      });
      expect(result.summary).toMatch(/\| api \| v1\.2\.0 \| v1\.3\.0 \| [0-9a-f]{12} \| healthcheck reports unhealthy/);
      expect(result.summary).toMatch(
        /\| api \(restored\) \| v1\.3\.0 \| v1\.2\.0 \| [0-9a-f]{12} \| running, healthy \|/,
      );

      // The GitHub deployment: created for the tag, in_progress then failure; the earlier one stays active.
      const created = github.deployments.deployments.find((deployment) => deployment.id !== earlier.id)!;
      expect(created).toMatchObject({ owner: 'acme', repo: 'shop', ref: 'v1.3.0', environment: 'production' });
      expect(created.statuses.map((status) => status.state)).toEqual(['in_progress', 'failure']);
      expect(created.statuses[1].description).toContain('v1.2.0 restored');
      expect(created.statuses[0].log_url).toMatch(/\/acme\/shop\/actions\/runs\/4242/);
      expect(earlier.statuses.at(-1)?.state).toBe('success');
      expect(result.outputs['deployment-id']).toBe(String(created.id));
      expect(github.server.requests.every((request) => request.authorization === 'token ghs_redeploytoken')).toBe(true);
      expect(leaksOf(result, 'ghs_redeploytoken')).toEqual([]);
    } finally {
      await github.server.stop();
    }
  });

  it('records a successful rollback as a GitHub deployment: in_progress then success, and the previous one inactive (production too)', async () => {
    const github = await startFakeGitHub({ token: 'ghs_redeploytoken' });
    try {
      const earlier = github.deployments.seed('acme', 'shop', 'production', 'v1.2.0', 'success');
      const otherEnvironment = github.deployments.seed('acme', 'shop', 'staging', 'v1.2.0', 'success');
      const result = await runAction('redeploy-tag', {
        inputs: projectInputs(project, {
          tag: 'v1.1.0',
          environment: 'production',
          'environment-url': 'https://shop.example.com',
        }),
        env: { ...dockerEnv(), ...github.server.env() },
        githubToken: 'ghs_redeploytoken',
      });
      expect(result.errors).toEqual([]);
      expect(result.exitCode).toBe(0);
      const created = github.deployments.deployments.find((deployment) => deployment.ref === 'v1.1.0')!;
      expect(result.outputs['deployment-id']).toBe(String(created.id));
      expect(created).toMatchObject({ environment: 'production', production_environment: true, task: 'deploy' });
      expect(created.description).toBe('redeploy-tag: api v1.2.0 -> v1.1.0');
      expect(created.payload).toMatchObject({ from: 'v1.2.0', to: 'v1.1.0', services: ['api'], strategy: 'compose' });
      expect(created.statuses.map((status) => status.state)).toEqual(['in_progress', 'success']);
      expect(created.statuses[1].environment_url).toBe('https://shop.example.com');
      // GitHub's auto_inactive skips production environments; the action marks the earlier one itself.
      expect(earlier.statuses.at(-1)?.state).toBe('inactive');
      expect(otherEnvironment.statuses.at(-1)?.state).toBe('success');
      const creation = github.server.requests.find(
        (request) => request.method === 'POST' && request.path === '/repos/acme/shop/deployments',
      );
      expect(creation?.body).toMatchObject({ ref: 'v1.1.0', required_contexts: [], auto_merge: false });
      expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
        success: true,
        deployment_id: created.id,
      });
      expect(result.summary).toContain(`| GitHub deployment | ${created.id} |`);
    } finally {
      await github.server.stop();
    }
  });

  it('with complete-deployment: false leaves a successful deployment in_progress, and its id, for a later step (after smoke tests) to finish', async () => {
    const github = await startFakeGitHub({ token: 'ghs_redeploytoken' });
    try {
      const earlier = github.deployments.seed('acme', 'shop', 'production', 'v1.2.0', 'success');
      const result = await runAction('redeploy-tag', {
        inputs: projectInputs(project, { tag: 'v1.1.0', environment: 'production', 'complete-deployment': 'false' }),
        env: { ...dockerEnv(), ...github.server.env() },
        githubToken: 'ghs_redeploytoken',
      });
      expect(result.exitCode).toBe(0);
      expect((await project.running()).tag).toBe('v1.1.0');
      const created = github.deployments.deployments.find((deployment) => deployment.id !== earlier.id)!;
      expect(created).toMatchObject({ ref: 'v1.1.0', environment: 'production' });
      expect(created.statuses.map((status) => status.state)).toEqual(['in_progress']);
      // Until the smoke tests pass, the release that ran before is still the environment's last good one.
      expect(earlier.statuses.at(-1)?.state).toBe('success');
      expect(result.outputs['deployment-id']).toBe(String(created.id));
      expect(result.outputs.outcome).toBe('deployed');
      expect(result.log).toContain('left in_progress');
      expect(result.summary).toContain(`| GitHub deployment | ${created.id} (left in_progress for a later step) |`);
      expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
        success: true,
        deployment_id: created.id,
      });

      // The later step: with the deployment-id output, the real Octokit client marks it success once smoke tests passed.
      const client = getOctokit('ghs_redeploytoken', { baseUrl: github.server.baseUrl });
      const { inactivated } = await completeDeployment(
        client,
        { owner: 'acme', repo: 'shop' },
        Number(result.outputs['deployment-id']),
        'production',
        true,
        { description: 'smoke tests passed' },
      );
      expect(created.statuses.map((status) => status.state)).toEqual(['in_progress', 'success']);
      expect(inactivated).toEqual([earlier.id]);
      expect(earlier.statuses.at(-1)?.state).toBe('inactive');
    } finally {
      await github.server.stop();
    }
  });

  it('goes on with the rollback when the deployment cannot be recorded, with a warning saying how to fix it', async () => {
    const github = await startFakeGitHub({ token: 'ghs_right' });
    try {
      const result = await runAction('redeploy-tag', {
        inputs: projectInputs(project, { tag: 'v1.1.0', environment: 'production' }),
        env: { ...dockerEnv(), ...github.server.env() },
        githubToken: 'ghs_wrong',
      });
      expect(result.exitCode).toBe(0);
      expect(result.warnings.join('\n')).toMatch(
        /Could not record a GitHub deployment for "production": .*Bad credentials.*deployments: write/s,
      );
      expect((await project.running()).tag).toBe('v1.1.0');
      expect(result.outputs['deployment-id']).toBe('');
    } finally {
      await github.server.stop();
    }
  });

  it('with on-failure: leave, leaves the failed v1.3.0 containers for inspection', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.3.0', 'on-failure': 'leave' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain('Service "api" did not become healthy');
    const after = await project.running();
    expect(after.tag).toBe('v1.3.0');
    expect(result.outputs.outcome).toBe('failed');
    expect(result.outputs['new-tag']).toBe('v1.3.0');
  });

  it('on the tag already running, changes nothing and verifies it is healthy', async () => {
    const before = await project.running();
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.2.0' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.outcome).toBe('unchanged');
    expect((await project.running()).id).toBe(before.id);
  });

  it('passes env-overrides (a kill switch) to compose through the environment, values inert', async () => {
    const canary = path.join(project.dir, 'pwned');
    const value = `off; touch ${canary}; $(touch ${canary}) \`touch ${canary}\``;
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', 'env-overrides': `MARKER=${value}\nEXPORT_MODE=off` }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(0);
    // Values may be tokens: masked, except a switch word, which masking would blank everywhere.
    expect(result.masks).toContain(value);
    expect(result.masks).not.toContain('off');
    const { stdout } = await runProcess(
      'docker',
      ['inspect', '--format', '{{json .Config.Env}}', (await project.running()).id],
      { env: dockerEnv() },
    );
    expect(JSON.parse(stdout) as string[]).toContain(`MARKER=${value}`);
    expect(existsSync(canary)).toBe(false);
    expect(result.log).toContain('env-overrides MARKER');
  });
});

describe('redeploy-tag input checks (nothing runs, nothing changes)', () => {
  let database: TestDatabase;
  let project: ComposeProject;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_inputs');
    project = await createComposeProject({ databaseUrl: database.url, healthcheck: false });
    await project.up('v1.2.0');
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });

  it.each([
    ['tag', { tag: 'v1; rm -rf /' }],
    ['tag', { tag: '$(id)' }],
    ['tag', { tag: '`id`' }],
    ['services', { tag: 'v1.1.0', services: 'api;id' }],
    ['services', { tag: 'v1.1.0', services: '$(id)' }],
    ['ssh-host', { tag: 'v1.1.0', 'ssh-host': '-oProxyCommand=id', 'known-hosts': 'accept-new' }],
    ['env-overrides', { tag: 'v1.1.0', 'env-overrides': 'A;B=1' }],
  ])('rejects shell metacharacters in %s before running anything (%j)', async (input, values) => {
    const before = await project.running();
    const canary = path.join(project.dir, 'pwned');
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, {
        ...values,
        'env-overrides': values['env-overrides' as keyof typeof values] ?? `X=$(touch ${canary})`,
      }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain(`Input "${input}"`);
    expect(result.events).toEqual([]);
    expect(existsSync(canary)).toBe(false);
    expect((await project.running()).id).toBe(before.id);
  });

  it('requires services with strategy compose, and names the input', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: { ...projectInputs(project, { tag: 'v1.1.0' }), services: '' },
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Input "services" is required with strategy "compose"');
  });

  it('names an unknown service and lists the real ones, before anything changes', async () => {
    const before = await project.running();
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', services: 'web' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Input "services" names "web", which is not a service of the compose project');
    expect(result.errors[0]).toContain('its services: api');
    expect((await project.running()).id).toBe(before.id);
  });

  it('refuses a compose file whose image does not read the tag variable, pointing at the image input', async () => {
    writeFileSync(
      path.join(project.dir, 'fixed.yml'),
      composeFileText({
        port: project.port,
        databaseUrl: database.url,
        image: demoImage('v1.2.0'),
        healthcheck: false,
      }),
    );
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', 'compose-file': 'fixed.yml' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('its tag does not come from IMAGE_TAG');
    expect(result.errors[0]).toContain('set the image input');
  });

  it('reports a project compose refuses as it reads it for `up` (every key known, a dependency undefined) as refused: nothing restored, the container unchanged', async () => {
    const before = await project.running();
    const text = composeFileText({
      port: project.port,
      databaseUrl: database.url,
      image: demoImage('${IMAGE_TAG}'),
      healthcheck: false,
    });
    writeFileSync(
      path.join(project.dir, 'undefined-dependency.yml'),
      text.replace(/^( {4}image: .*\n)/m, '$1    depends_on: [cache]\n'),
    );
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', 'compose-file': 'undefined-dependency.yml' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      /^The compose project is not valid: .*config -q failed on this runner[\s\S]*cache/,
    );
    expect(result.errors[0]).toContain('Nothing was changed.');
    expect(result.outputs.outcome).toBe('refused');
    expect(result.summary).toContain('refused before anything was changed');
    expect(result.log).not.toContain('Restoring api');
    expect(result.events.map((event) => [event.event, event.outcome])).toEqual([
      ['rollback_start', undefined],
      ['rollback_complete', 'refused'],
    ]);
    const after = await project.running();
    expect([after.id, after.image]).toEqual([before.id, demoImage('v1.2.0')]);
  });

  it('asks for known-hosts with ssh-host, and refuses ssh settings without ssh-host', async () => {
    const noKnownHosts = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', 'ssh-host': 'deploy.example.com' }),
      env: dockerEnv(),
    });
    expect(noKnownHosts.errors[0]).toContain('Input "known-hosts" is required with ssh-host');
    const keyWithoutHost = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', 'ssh-key': 'not-a-key' }),
      env: dockerEnv(),
    });
    expect(keyWithoutHost.errors[0]).toContain('Input "ssh-key" is set but ssh-host is not');
    expect(keyWithoutHost.log).not.toContain('not-a-key');
  });
});

describe('redeploy-tag without a tag variable: image pinned through an override file', () => {
  let database: TestDatabase;
  let project: ComposeProject;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_pin');
    project = await createComposeProject({ databaseUrl: database.url, fixedTag: 'v1.2.0' });
    await project.up('ignored');
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });

  it('pins v1.1.0 with the image input, then restores the pinned v1.2.0 when v1.3.0 fails', async () => {
    const image = demoImage('').replace(/:$/, '');
    const ok = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', image }),
      env: dockerEnv(),
    });
    expect(ok.errors).toEqual([]);
    expect((await project.running()).image).toBe(demoImage('v1.1.0'));
    expect(ok.outputs['previous-tag']).toBe('v1.2.0');

    const failed = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.3.0', image }),
      env: dockerEnv(),
    });
    expect(failed.exitCode).toBe(1);
    expect(failed.outputs.outcome).toBe('restored');
    const after = await project.running();
    expect(after.image).toBe(demoImage('v1.1.0'));
    expect(after.health).toBe('healthy');
  });
});

describe('redeploy-tag with a release that crash-loops', () => {
  let database: TestDatabase;
  let project: ComposeProject;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_crash');
    project = await createComposeProject({ databaseUrl: database.url, healthcheck: false, crashOn: 'v1.3.0' });
    await project.up('v1.2.0');
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });

  it('catches the crash loop at once (not at the timeout), shows its last words, and restores v1.2.0', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.3.0', 'health-timeout': '90s' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(/Service "api" did not become ready: (restart|exited|stopped).*exit code 3/);
    expect(result.log).toContain('fatal: export worker cannot start');
    // A definite failure, not the timeout running out: the message would say "within 1m30s".
    expect(result.errors[0]).not.toContain('within');
    expect(result.outputs.outcome).toBe('restored');
    const after = await project.running();
    expect(after.image).toBe(demoImage('v1.2.0'));
    expect((await project.health()).body.version).toBe('v1.2.0');
  });
});

describe('redeploy-tag with two services', () => {
  let database: TestDatabase;
  let project: ComposeProject;

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_two');
    project = await createComposeProject({ databaseUrl: database.url, worker: true });
    await project.up('v1.2.0');
    await project.waitHealthy();
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });

  it('recreates only the named service (--no-deps): the other keeps its container', async () => {
    const worker = await project.running('worker');
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(0);
    expect((await project.running('api')).tag).toBe('v1.1.0');
    const workerAfter = await project.running('worker');
    expect(workerAfter.id).toBe(worker.id);
    expect(workerAfter.tag).toBe('v1.2.0');
  });

  it('redeploys both when both are named, waits for each, and reports each', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: projectInputs(project, { tag: 'v1.1.0', services: 'api\nworker' }),
      env: dockerEnv(),
    });
    expect(result.errors).toEqual([]);
    const api = await project.running('api');
    const worker = await project.running('worker');
    expect([api.tag, worker.tag]).toEqual(['v1.1.0', 'v1.1.0']);
    // api was on v1.1.0 already, worker came from v1.2.0: the previous tag says so per service.
    expect(result.outputs['previous-tag']).toBe('api=v1.1.0,worker=v1.2.0');
    expect(result.outputs['new-tag']).toBe('v1.1.0');
    expect(JSON.parse(result.outputs['container-ids']).sort()).toEqual([api.id, worker.id].sort());
    expect(result.summary).toMatch(/\| api \| v1\.1\.0 \| v1\.1\.0 \| [0-9a-f]{12} \| running, healthy \|/);
    expect(result.summary).toMatch(
      /\| worker \| v1\.2\.0 \| v1\.1\.0 \| [0-9a-f]{12} \| running \(no healthcheck\), up \d/,
    );
  });
});

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAction } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { createComposeProject, type ComposeProject } from '../../testkit/compose-project.js';

/**
 * Strategy "command": the user's own deploy program (here a node script that runs docker-compose),
 * run as an argument array with the tag as "{tag}" and in IMAGE_TAG, verified by ready-url, and run
 * again for previous-tag when the new release does not answer.
 */
const deployScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'deploy-demo.mjs');

interface Invocation {
  argv: string[];
  imageTag: string;
  cwd: string;
}

describe('redeploy-tag strategy command', () => {
  let database: TestDatabase;
  let project: ComposeProject;
  let recordFile: string;

  const invocations = (): Invocation[] =>
    existsSync(recordFile)
      ? readFileSync(recordFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Invocation)
      : [];
  const commandInputs = (extra: Record<string, string>) => ({
    strategy: 'command',
    command: JSON.stringify([process.execPath, deployScript, project.file, project.name, '{tag}']),
    'working-directory': project.dir,
    'env-overrides': `RECORD_FILE=${recordFile}`,
    'ready-url': `${project.baseUrl}/health`,
    ...extra,
  });

  beforeAll(async () => {
    database = await createTestDatabase('redeploy_command');
    project = await createComposeProject({ databaseUrl: database.url, healthcheck: false });
    recordFile = path.join(project.dir, 'invocations.jsonl');
  });
  afterAll(async () => {
    await project?.remove();
    await database?.drop();
  });
  beforeEach(async () => {
    await project.up('v1.2.0');
  });

  it('runs the command with the tag as argument and in the tag variable, and verifies with ready-url', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: commandInputs({ tag: 'v1.1.0', 'previous-tag': 'v1.2.0', image: demoImage('').replace(/:$/, '') }),
      env: dockerEnv(),
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(invocations().at(-1)).toEqual({
      argv: [project.file, project.name, 'v1.1.0'],
      imageTag: 'v1.1.0',
      cwd: project.dir,
    });
    expect((await project.running()).image).toBe(demoImage('v1.1.0'));
    expect(await project.health()).toMatchObject({ status: 200, body: { version: 'v1.1.0' } });
    expect(result.outputs).toMatchObject({ 'previous-tag': 'v1.2.0', 'new-tag': 'v1.1.0', outcome: 'deployed' });
    expect(result.events.find((event) => event.event === 'rollback_complete')).toMatchObject({
      from: 'v1.2.0',
      to: 'v1.1.0',
      success: true,
    });
    expect(result.log).toMatch(/ready-url http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/);
  });

  it('runs the command again for previous-tag when ready-url does not answer 2xx (broken v1.3.0)', async () => {
    const before = invocations().length;
    const result = await runAction('redeploy-tag', {
      inputs: commandInputs({ tag: 'v1.3.0', 'previous-tag': 'v1.2.0', 'health-timeout': '5s' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(
      /ready-url http:\/\/127\.0\.0\.1:\d+\/health did not answer 2xx within 5\.0s after the deploy command for v1\.3\.0 \(last: HTTP 500/,
    );
    expect(result.errors[0]).toContain('Restored: ran the command again for v1.2.0');
    expect(
      invocations()
        .slice(before)
        .map((invocation) => invocation.argv[2]),
    ).toEqual(['v1.3.0', 'v1.2.0']);
    expect(await project.health()).toMatchObject({ status: 200, body: { version: 'v1.2.0' } });
    expect(result.outputs).toMatchObject({ outcome: 'restored', 'new-tag': 'v1.2.0' });
  });

  it('with image, refuses a tag whose image is missing without running the command', async () => {
    const before = invocations().length;
    const result = await runAction('redeploy-tag', {
      inputs: commandInputs({ tag: 'v9.9.9', image: demoImage('').replace(/:$/, ''), pull: 'never' }),
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Image localhost/rollback-demo-app:v9.9.9 is not on the engine');
    expect(invocations()).toHaveLength(before);
    expect((await project.health()).body.version).toBe('v1.2.0');
  });

  it('reports a command that cannot be started, by name', async () => {
    const result = await runAction('redeploy-tag', {
      inputs: {
        ...commandInputs({ tag: 'v1.1.0', 'on-failure': 'leave' }),
        command: 'no-such-deploy-tool\n--tag={tag}',
      },
      env: dockerEnv(),
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(
      'Redeploy to v1.1.0 failed: the deploy command for v1.1.0 failed: no-such-deploy-tool --tag=v1.1.0 could not be started: "no-such-deploy-tool" was not found',
    );
    expect(result.warnings).toEqual([]);
  });
});

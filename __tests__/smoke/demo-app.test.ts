import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leaksOf, REPO_ROOT, runAction, type ActionResult } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { startDemoApp, type RunningDemoApp } from '../../testkit/demo-app.js';
import { migrateDemoSchema } from '../../testkit/demo-schema.js';

/**
 * The demo app's full smoke suite (the fixture the workflows reuse) against the real images on a
 * real database: v1.2.0 on schema 5 passes, v1.3.0 fails naming the assertion, and neither the
 * operator token nor the session token issued at login shows up anywhere the action writes.
 */
const SUITE = path.join(REPO_ROOT, 'testkit', 'fixtures', 'demo-app', 'smoke-suite.yml');
const OPERATOR_TOKEN = 'op-7f3a9c2e51d84b06a1e4';
// Demo session tokens are base64url('{"sub":...') + '.' + signature: this prefix is in every one.
const SESSION_TOKEN_PREFIX = Buffer.from('{"sub":"').toString('base64url').slice(0, 8);

function workspaceWithSuite(): string {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'smoke-ws-'));
  mkdirSync(path.join(workspace, '.github', 'smoke'), { recursive: true });
  copyFileSync(SUITE, path.join(workspace, '.github', 'smoke', 'demo.yml'));
  return workspace;
}

function junitOf(result: ActionResult): string {
  return readFileSync(result.outputs['report-path'], 'utf8');
}

function expectNoTokenLeaks(result: ActionResult): void {
  const junit = junitOf(result);
  expect(leaksOf(result, OPERATOR_TOKEN, [junit])).toEqual([]);
  expect(leaksOf(result, SESSION_TOKEN_PREFIX, [junit])).toEqual([]);
  // The runner's masking was registered too, as a second layer.
  expect(result.masks).toContain(OPERATOR_TOKEN);
}

describe('smoke-test on the demo app', () => {
  let database: TestDatabase;
  const apps: RunningDemoApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('smoke');
    await migrateDemoSchema(database.url, 5);
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.remove()));
    await database.drop();
  });

  async function app(tag: string): Promise<RunningDemoApp> {
    const started = await startDemoApp(tag, database.url, { operatorToken: OPERATOR_TOKEN });
    apps.push(started);
    return started;
  }

  it('passes the full suite on v1.2.0 (schema 5): health, readiness, internal health, auth flow, project lifecycle', async () => {
    const demo = await app('v1.2.0');
    const result = await runAction('smoke-test', {
      workspace: workspaceWithSuite(),
      inputs: {
        suite: '.github/smoke/demo.yml',
        'base-url': demo.baseUrl,
        'expected-version': 'v1.2.0',
        deadline: '30s',
      },
      env: { OPERATOR_TOKEN },
    });
    expect({ exitCode: result.exitCode, errors: result.errors }).toEqual({ exitCode: 0, errors: [] });
    expect(result.outputs.passed).toBe('true');
    expect(JSON.parse(result.outputs['failed-checks'])).toEqual([]);
    const checks = JSON.parse(result.outputs.checks) as { check: string; passed: boolean; attempts: number }[];
    expect(checks.map((check) => [check.check, check.passed, check.attempts])).toEqual([
      ['health', true, 1],
      ['readiness', true, 1],
      ['internal health', true, 1],
      ['auth flow', true, 1],
      ['project lifecycle', true, 1],
    ]);
    // 3 single requests + 3 auth steps + 6 project steps.
    expect(result.outputs.requests).toBe('12');
    expect(result.summary).toMatch(/### ✅ Smoke test passed: 5 of 5 checks/);
    expect(result.summary).toContain('| `auth flow` | ✅ passed | 1 |');
    // Nothing failed: no failures table, and no empty Expected/Actual columns.
    expect(result.summary).not.toContain('Failed check');
    const junit = junitOf(result);
    expect(junit).toMatch(/<testsuites name="demo-app" tests="5" failures="0"/);
    expect(junit).toContain('<testcase name="project lifecycle" classname="demo-app"');
    expectNoTokenLeaks(result);

    // The flow really ran against the database: the project was created and deleted again.
    const projects = await database.query('SELECT count(*)::int AS count FROM projects');
    expect(projects.rows[0].count).toBe(0);
    const users = await database.query(
      "SELECT count(*)::int AS count FROM users WHERE email LIKE 'smoke-%@example.com'",
    );
    expect(users.rows[0].count).toBe(2);
  });

  it('fails the suite on v1.3.0 with the failing assertion named, and runs every other check', async () => {
    const demo = await app('v1.3.0');
    const result = await runAction('smoke-test', {
      workspace: workspaceWithSuite(),
      inputs: { suite: '.github/smoke/demo.yml', 'base-url': demo.baseUrl, deadline: '30s' },
      env: { OPERATOR_TOKEN },
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.passed).toBe('false');
    const failed = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toEqual([
      expect.objectContaining({
        check: 'health',
        attempts: 1,
        kind: 'assertion',
        assertion: 'status',
        expected: '200',
        actual: expect.stringMatching(/^500 Internal Server Error \(and \d+ more failing assertions?\)$/),
      }),
    ]);
    expect(result.errors[0]).toMatch(
      /1 of 5 smoke checks failed:\n- health \(1 attempt\): status: expected 200, actual 500 Internal Server Error/,
    );
    // The failure right under the verdict, before the folded list of every check.
    expect(result.summary).toMatch(
      /^### ❌ Smoke test failed: 1 of 5 checks failed\n\n\| Failed check \| Assertion \| Expected \| Actual \| Attempts \|\n\| --- \| --- \| --- \| --- \| --- \|\n\| `health` \| status \| 200 \| 500 Internal Server Error/,
    );
    expect(result.summary).toMatch(
      /<details><summary>All 5 checks<\/summary>[\s\S]*\| `health` \| ❌ failed \| 1 \| \d+ms \|/,
    );
    // The broken release explains itself in its body; it is not marked sensitive, so the log shows it.
    expect(result.log).toContain('configuration error: export worker failed to start');
    expect(junitOf(result)).toMatch(
      /<testcase name="health" classname="demo-app" time="[\d.]+">\n\s+<failure message="status: expected 200, actual 500 Internal Server Error/,
    );
    expectNoTokenLeaks(result);
  });

  it('fails on an expected-version mismatch with expected and actual', async () => {
    const demo = await app('v1.2.0');
    const result = await runAction('smoke-test', {
      inputs: { url: '/health', 'base-url': demo.baseUrl, 'expected-version': 'v1.1.0', deadline: '10s' },
    });
    expect(result.exitCode).toBe(1);
    const [failed] = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toMatchObject({
      check: 'GET /health',
      assertion: 'version at $.version',
      expected: 'v1.1.0',
      actual: 'v1.2.0',
      attempts: 1,
    });
    expect(result.errors[0]).toMatch(/version at \$\.version: expected v1\.1\.0, actual v1\.2\.0/);
    expect(result.summary).toMatch(/\| version at \$\.version \| v1\.1\.0 \| v1\.2\.0/);

    const matching = await runAction('smoke-test', {
      inputs: { url: '/health', 'base-url': demo.baseUrl, 'expected-version': '1.2.0' },
    });
    expect(matching.exitCode).toBe(0);
  });

  it('applies expected-version to the suite check marked version-check', async () => {
    const demo = await app('v1.2.0');
    const result = await runAction('smoke-test', {
      workspace: workspaceWithSuite(),
      inputs: {
        suite: '.github/smoke/demo.yml',
        'base-url': demo.baseUrl,
        'expected-version': 'v1.3.0',
        deadline: '10s',
      },
      env: { OPERATOR_TOKEN },
    });
    expect(result.exitCode).toBe(1);
    const failed = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed.map((entry) => [entry.check, entry.assertion, entry.expected, entry.actual])).toEqual([
      ['health', 'version at $.version', 'v1.3.0', 'v1.2.0'],
    ]);
  });

  it('fails internal health with a wrong operator token, and never prints the token it sent', async () => {
    const demo = await app('v1.2.0');
    const wrongToken = 'wrong-operator-token-5d1c9e';
    const result = await runAction('smoke-test', {
      workspace: workspaceWithSuite(),
      inputs: { suite: '.github/smoke/demo.yml', 'base-url': demo.baseUrl, deadline: '10s' },
      env: { OPERATOR_TOKEN: wrongToken },
    });
    expect(result.exitCode).toBe(1);
    const failed = JSON.parse(result.outputs['failed-checks']) as Record<string, unknown>[];
    expect(failed).toEqual([
      expect.objectContaining({
        check: 'internal health',
        assertion: 'status',
        expected: '200',
        actual: expect.stringMatching(/^401 Unauthorized/),
      }),
    ]);
    expect(leaksOf(result, wrongToken, [junitOf(result)])).toEqual([]);
    // sensitive: true on the check: its body is not printed even though it failed.
    expect(result.log).not.toContain('operator token required');
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT, runAction } from '../../testkit/action-harness.js';
import { json, startServer, type TestServer } from '../smoke/support/servers.js';

/** Each bundle, run with no inputs, names the input it needs; a malformed input is named with its value. */
const cases: { action: string; missing: RegExp; malformed: Record<string, string>; named: RegExp }[] = [
  {
    action: 'backup-db',
    missing: /Input "database-url" is required/,
    malformed: { 'database-url': 'postgres://u:p@localhost/db', 'retention-days': 'banana' },
    named: /Input "retention-days" must be a whole number; got "banana"/,
  },
  {
    action: 'restore-db',
    missing: /Input "database-url" is required/,
    malformed: { 'database-url': 'postgres://u:p@localhost/db', path: '/tmp/x.dump', mode: 'overwrite' },
    named: /Input "mode" must be one of "new-database", "replace"; got "overwrite"/,
  },
  {
    action: 'compute-rollback-target',
    missing: /Input "target" is required/,
    malformed: { target: 'v1; rm -rf /' },
    named: /Input "target" must be .*; got "v1; rm -rf \/"/,
  },
  {
    action: 'apply-down-migrations',
    missing: /Input "database-url" is required/,
    malformed: {
      'database-url': 'postgres://u:p@localhost/db',
      'migrations-dir': 'db',
      steps: '1',
      'lock-timeout': 'banana',
    },
    named: /Input "lock-timeout" must be a duration .*; got "banana"/,
  },
  {
    action: 'redeploy-tag',
    missing: /Input "tag" is required/,
    malformed: { tag: 'v1.2.0', services: 'api', 'health-timeout': 'banana' },
    named: /Input "health-timeout" must be a duration .*; got "banana"/,
  },
  {
    action: 'smoke-test',
    missing: /Input "url" or "suite" is required/,
    malformed: { url: 'http://127.0.0.1:1/health', timeout: 'banana' },
    named: /Input "timeout" must be a duration .*; got "banana"/,
  },
];

describe.each(cases)('$action bundle', ({ action, missing, malformed, named }) => {
  it('exits 1 naming the missing required input', async () => {
    const result = await runAction(action);
    expect(result.exitCode).toBe(1);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(missing);
  });

  it('exits 1 naming a malformed input and its value', async () => {
    const result = await runAction(action, { inputs: malformed });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(named);
    expect(result.summary).toContain(`## ${action} failed`);
  });

  it('writes no job summary, not even of its failure, with job-summary: false', async () => {
    const result = await runAction(action, { inputs: { ...malformed, 'job-summary': 'false' } });
    expect(result.errors[0]).toMatch(named);
    expect(result.summary).toBe('');
  });
});

describe('job-summary input on a run that succeeds', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer((_request, response) => json(response, 200, { status: 'ok' }));
  });
  afterAll(() => server.close());

  it.each([
    ['true', true],
    ['false', false],
  ])('job-summary: %s', async (value, written) => {
    const result = await runAction('smoke-test', {
      inputs: { url: `${server.url}/health`, deadline: '0', 'job-summary': value },
    });
    expect(result.exitCode).toBe(0);
    expect(result.summary !== '').toBe(written);
  });
});

describe('action.yml metadata', () => {
  const actions = cases.map((entry) => entry.action);
  it.each(actions)('%s declares what the runner and the Marketplace need', (action) => {
    const metadata = parseYaml(readFileSync(path.join(REPO_ROOT, 'actions', action, 'action.yml'), 'utf8')) as {
      name: string;
      description: string;
      author: string;
      branding: { icon: string; color: string };
      inputs: Record<string, { description: string }>;
      outputs: Record<string, { description: string }>;
      runs: { using: string; main: string };
    };
    expect(metadata.name).toMatch(/\S/);
    expect(metadata.description.length).toBeGreaterThan(40);
    expect(metadata.author).toMatch(/\S/);
    expect(metadata.branding.icon).toMatch(/^[a-z-]+$/);
    expect(metadata.runs).toEqual({ using: 'node24', main: `../../dist/${action}/index.js` });
    for (const [name, spec] of [...Object.entries(metadata.inputs), ...Object.entries(metadata.outputs)]) {
      expect({ name, description: typeof spec.description === 'string' && spec.description.length > 10 }).toEqual({
        name,
        description: true,
      });
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { demoImage, dockerEnv } from '../support/demo-app.js';
import { freePort } from '../support/services/free-port.js';
import { testResourceName } from '../support/services/index.js';
import { createDemoRepo, type FixtureRepo } from './fixture-repo.js';
import { compute, expectSuccess, migrationsOf } from './support.js';

/** "What runs now" read from the engine: the image tag of a running compose service. */
describe('compute-rollback-target reading the current version from a compose service', () => {
  let repo: FixtureRepo;
  let database: TestDatabase;
  let composeDir: string;
  const project = testResourceName('compute');
  const compose = (...args: string[]) => runProcess('docker-compose', ['-p', project, '-f', path.join(composeDir, 'compose.yml'), ...args], { env: dockerEnv(), timeoutMs: 120_000 });

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
    const result = await compute(repo.dir, { 'current-from-service': 'web', 'project-name': project, target: 'previous', 'migrations-dir': 'db/migrations' }, { env: dockerEnv() });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({ 'current-tag': 'v1.2.0', 'target-tag': 'v1.1.0', strategy: 'down-migrations' });
    expect(migrationsOf(result).map((migration) => migration.version)).toEqual(['4']);
    expect(result.summary).toContain(`| Current | v1.2.0 (image tag of running compose service ${project}/web (${demoImage('v1.2.0')})) |`);
  });

  it('names the input when no running container belongs to the service', async () => {
    const result = await compute(repo.dir, { 'current-from-service': 'worker', 'project-name': project, target: 'previous' }, { env: dockerEnv() });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatch(new RegExp(`^Input "current-from-service" names service "worker", but no running container of compose project "${project}" belongs to it\\.`));
  });
});

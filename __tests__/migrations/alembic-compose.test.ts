import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { REPO_ROOT, runAction } from '../../testkit/action-harness.js';
import { schemaOfUrl, type TestDatabase } from '../../testkit/database.js';
import { buildAlembicImage } from '../../testkit/services/alembic-image.js';
import { serviceEnv, testResourceName } from '../../testkit/services/index.js';
import { freshDatabases, parseJsonOutput } from './helpers.js';

/**
 * migrate-command "docker-compose run --rm api alembic": the revert runs in an app image that holds
 * the newer release's code (the only place its downgrade() functions are), on the test run's private
 * engine. The image is imported from a root filesystem tarball (no registry): Debian's python3,
 * alembic 1.8, SQLAlchemy, psycopg2 and their shared libraries, and the fixture app in /app. This
 * machine has compose v1 only (no `docker compose` plugin), whose `run --rm` is the same command.
 */
const FIXTURE = path.join(REPO_ROOT, 'testkit', 'fixtures', 'alembic-app');
const PYTHON = '/usr/bin/python3.11';
const database = freshDatabases();

let project: string;
let image: string;
let dockerHost: string;
beforeAll(async () => {
  dockerHost = serviceEnv('dockerHost');
  image = `localhost/${testResourceName('alembic-app')}:newer`;
  await buildAlembicImage(dockerHost, image, FIXTURE);
  project = mkdtempSync(path.join(os.tmpdir(), 'alembic-compose-'));
  // DATABASE_URL passes through from the environment migrate-command runs in.
  writeFileSync(
    path.join(project, 'docker-compose.yml'),
    `version: "3.8"\nservices:\n  api:\n    image: ${image}\n    network_mode: host\n    environment:\n      - DATABASE_URL\n`,
  );
}, 600_000);
afterAll(async () => {
  if (image)
    await runProcess('docker', ['image', 'rm', '-f', image], { env: { DOCKER_HOST: dockerHost }, okExitCodes: [0, 1] });
  if (project) rmSync(project, { recursive: true, force: true });
});

async function migratedDatabase(prefix: string, to = 'heads'): Promise<TestDatabase> {
  const db = await database(prefix);
  await runProcess('alembic', ['upgrade', to], {
    cwd: FIXTURE,
    env: { DATABASE_URL: db.url, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return db;
}

describe('apply-down-migrations alembic through docker-compose run --rm api alembic', () => {
  it("reverts to a middle revision inside the app image; the schema equals a fresh upgrade to it, and the dry run is the image's offline SQL", async () => {
    expect(existsSync(PYTHON)).toBe(true);
    const db = await migratedDatabase('alembic_compose');
    const fresh = await migratedDatabase('alembic_compose_fresh', '0006');
    // migrations-dir: the newer release's versions directory as checked out on the runner; none of it is run there.
    const versions = path.join(mkdtempSync(path.join(os.tmpdir(), 'alembic-versions-')), 'versions');
    cpSync(path.join(FIXTURE, 'alembic', 'versions'), versions, { recursive: true });
    const inputs = {
      'database-url': db.url,
      'migrations-dir': versions,
      'migrations-format': 'alembic',
      'migrate-command': 'docker-compose run --rm api alembic',
      'working-directory': project,
      'target-version': '0006',
    };
    const env = { DOCKER_HOST: dockerHost };

    const dry = await runAction('apply-down-migrations', { inputs: { ...inputs, 'dry-run': true }, env });
    expect(dry.errors).toEqual([]);
    expect(dry.outputs['dry-run-sql']).toContain('ALTER TABLE users ALTER COLUMN name DROP NOT NULL');
    expect(dry.outputs['dry-run-sql']).toContain("UPDATE alembic_version SET version_num='0006'");
    expect(dry.summary).toContain('`docker-compose run --rm api alembic downgrade` on this runner');

    const since = Math.floor(Date.now() / 1000);
    const result = await runAction('apply-down-migrations', { inputs: { ...inputs, 'skip-backup-check': true }, env });
    expect(result.errors).toEqual([]);
    expect(parseJsonOutput<{ version: string }[]>(result, 'reverted').map((entry) => entry.version)).toEqual([
      '0009',
      '0008',
      '0007',
    ]);
    expect(result.outputs['final-version']).toBe('0006');
    expect((await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows).toEqual([
      { version_num: '0006' },
    ]);
    expect(await schemaOfUrl(db.url)).toBe(await schemaOfUrl(fresh.url));
    // The downgrade ran in a container of the image, and compose run --rm left none behind.
    const started = await runProcess(
      'docker',
      [
        'events',
        '--since',
        String(since),
        '--until',
        String(Math.floor(Date.now() / 1000) + 1),
        '--filter',
        'event=start',
        '--filter',
        `image=${image}`,
        '--format',
        '{{.ID}}',
      ],
      { env: { DOCKER_HOST: dockerHost } },
    );
    expect(started.stdout.trim().split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(1);
    const left = await runProcess('docker', ['ps', '-a', '--filter', `ancestor=${image}`, '--format', '{{.ID}}'], {
      env: { DOCKER_HOST: dockerHost },
    });
    expect(left.stdout.trim()).toBe('');
  });
});

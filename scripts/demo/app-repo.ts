import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { GIT_ENV } from '../../testkit/fixture-repo.js';
import { RELEASE_SCHEMA } from '../../testkit/fixtures/demo-app/versions.js';
import { demoMigrationsDir } from '../../testkit/services/demo-images.js';
import { REPO_ROOT } from '../actions.js';

/**
 * The demo app's own repository, as a team using the suite would have it: release tags v1.0.0 to
 * v1.3.0, each with the golang-migrate migrations of that release, the app's migrate-up script,
 * its smoke suite, a compose file for the deploy host, and the example caller workflows from
 * action-docs/examples (deploy, manual rollback, drill) exactly as the README tells users to copy.
 */
const FIXTURE = path.join(REPO_ROOT, 'testkit', 'fixtures', 'demo-app');

/** golang-migrate's bookkeeping, with psql: each pending up file and its version in one transaction. */
export const MIGRATE_UP_SCRIPT = `#!/usr/bin/env bash
# Applies db/migrations/*.up.sql above the recorded version, the way golang-migrate does (same
# schema_migrations table), each file and its version row in one transaction.
set -euo pipefail
cd "$(dirname "$0")/.."
sql() { psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }
sql -c 'CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)'
current=$(sql -c 'SELECT COALESCE(MAX(version), 0) FROM schema_migrations')
if [ "$(sql -c 'SELECT COALESCE(bool_or(dirty), false) FROM schema_migrations')" = t ]; then
  echo "schema_migrations is dirty at version $current: repair it before migrating" >&2
  exit 1
fi
for file in db/migrations/*.up.sql; do
  version=$((10#$(basename "$file" | cut -d_ -f1)))
  [ "$version" -le "$current" ] && continue
  echo "migrate up: $(basename "$file")"
  sql -1 -f "$file" -c "DELETE FROM schema_migrations; INSERT INTO schema_migrations (version, dirty) VALUES ($version, false)"
done
echo "schema version: $(sql -c 'SELECT version FROM schema_migrations')"
`;

/** The compose file on the deploy host; its .env beside it holds DATABASE_URL, APP_PORT, OPERATOR_TOKEN. */
export function composeFile(imageRepository: string): string {
  return `# The demo app on its deploy host. redeploy-tag sets IMAGE_TAG; the rest comes from .env.
services:
  app:
    image: ${imageRepository}:\${IMAGE_TAG:-v1.1.0}
    network_mode: host
    restart: unless-stopped
    environment:
      DATABASE_URL: \${DATABASE_URL}
      PORT: \${APP_PORT}
      OPERATOR_TOKEN: \${OPERATOR_TOKEN}
    healthcheck:
      # Readiness (database reachable, schema supported): what compose can judge. Whether the
      # release works is the smoke suite's call.
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:\${APP_PORT}/readyz"]
      interval: 1s
      timeout: 3s
      retries: 3
`;
}

/**
 * The same app as a Docker Swarm stack (docker stack deploy): the host's settings come from app.env
 * beside it (stack deploy reads no .env), and the healthcheck reads the port from the container's
 * environment. Swarm replaces a task whose healthcheck fails; an update waits for the new task's.
 */
export function stackFile(imageRepository: string): string {
  return `# The demo app as a swarm stack. redeploy-tag sets IMAGE_TAG; app.env beside it holds the host's settings.
services:
  app:
    image: ${imageRepository}:\${IMAGE_TAG:-v1.1.0}
    env_file: [app.env]
    networks: [hostnet]
    healthcheck:
      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:$$PORT/readyz"]
      interval: 1s
      timeout: 3s
      retries: 3
    deploy:
      update_config: { monitor: 2s, failure_action: pause }
      rollback_config: { monitor: 2s }
networks:
  hostnet:
    external: true
    name: host
`;
}

function migrationsUpTo(schema: number): Record<string, string> {
  const files: Record<string, string> = {};
  const dir = demoMigrationsDir();
  for (const file of readdirSync(dir).sort()) {
    if (Number(file.slice(0, 4)) <= schema) files[`db/migrations/${file}`] = readFileSync(path.join(dir, file), 'utf8');
  }
  return files;
}

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await runProcess('git', ['-C', dir, ...args], { env: { ...process.env, ...GIT_ENV } })).stdout.trim();
}

export async function createDemoAppRepository(dir: string, imageRepository: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', 'main');
  const smokeSuite = readFileSync(path.join(FIXTURE, 'smoke-suite.yml'), 'utf8').replaceAll(
    'OPERATOR_TOKEN',
    'SMOKE_TOKEN',
  );
  const common: Record<string, string> = {
    'scripts/migrate-up.sh': MIGRATE_UP_SCRIPT,
    '.github/smoke.yml': smokeSuite,
    'deploy/docker-compose.yml': composeFile(imageRepository),
    'deploy/stack.yml': stackFile(imageRepository),
  };
  for (const example of readdirSync(path.join(REPO_ROOT, 'action-docs', 'examples'))) {
    common[`.github/workflows/${example}`] = readFileSync(
      path.join(REPO_ROOT, 'action-docs', 'examples', example),
      'utf8',
    );
  }
  for (const [tag, schema] of Object.entries(RELEASE_SCHEMA)) {
    for (const [file, content] of Object.entries({ ...common, ...migrationsUpTo(schema) })) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), content, { mode: file.endsWith('.sh') ? 0o755 : 0o644 });
    }
    writeFileSync(path.join(dir, 'VERSION'), `${tag}\n`);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', `Release ${tag}`);
    await git(dir, 'tag', '-a', tag, '-m', `Release ${tag}`);
  }
}

/**
 * The deploy host's directory: the repository's compose file (or, on a swarm manager, its stack
 * file) and the host's own settings (.env for compose, app.env for the stack's containers).
 */
export function prepareDeployHost(
  dir: string,
  repositoryDir: string,
  env: { DATABASE_URL: string; APP_PORT: string; OPERATOR_TOKEN: string },
  platform: 'compose' | 'swarm' = 'compose',
): void {
  mkdirSync(dir, { recursive: true });
  const settings = (values: Record<string, string>) =>
    Object.entries(values)
      .map(([name, value]) => `${name}=${value}\n`)
      .join('');
  if (platform === 'swarm') {
    copyFileSync(path.join(repositoryDir, 'deploy', 'stack.yml'), path.join(dir, 'stack.yml'));
    writeFileSync(
      path.join(dir, 'app.env'),
      settings({ DATABASE_URL: env.DATABASE_URL, PORT: env.APP_PORT, OPERATOR_TOKEN: env.OPERATOR_TOKEN }),
      { mode: 0o600 },
    );
    return;
  }
  copyFileSync(path.join(repositoryDir, 'deploy', 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
  writeFileSync(path.join(dir, '.env'), settings(env), { mode: 0o600 });
}

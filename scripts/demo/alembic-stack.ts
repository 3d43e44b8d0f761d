import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { GIT_ENV } from '../../testkit/fixture-repo.js';
import { buildAlembicImage } from '../../testkit/services/alembic-image.js';
import { freePort } from '../../testkit/services/free-port.js';
import { serviceEnv, testResourceName } from '../../testkit/services/index.js';
import { REPO_ROOT } from '../actions.js';
import type { WorkflowRun } from '../local-runner/types.js';
import { findCalled, step, type StoryRun } from './scenario.js';
import { createDemoWorld, ENVIRONMENT, type AppContext, type AppSetup, type DemoWorld } from './world.js';

/**
 * The demo's second stack: an API service and a jobs service run from one image (python, Alembic
 * and the app's migrations inside it), on host networking, released with date tags. 2026-11-20 is
 * good; 2026-11-25-rc1 adds revision 0007, which renames users.name (lossless, reversible, but the
 * good release's code cannot run without the column), and a query on a column no migration created,
 * so its smoke test fails and deploy.yml's rollback job rolls it back through the same auto-rollback.yml and
 * rollback.yml as the first stack: only the repository variables differ (migrations-format alembic,
 * migrate-command `docker-compose run --rm migrate alembic`, services api,jobs). The downgrade runs in
 * the image of the release being left, the only one with 0007's downgrade().
 */
const ALEMBIC_APP = path.join(REPO_ROOT, 'testkit', 'fixtures', 'alembic-app');
const STACK_FIXTURE = path.join(REPO_ROOT, 'testkit', 'fixtures', 'alembic-stack');
export const API_REPOSITORY = 'acme/api';
/**
 * The API image's alembic, as a one-off container of the compose file's migrate service (the api
 * service's image and settings). Not `run --rm api`: compose v1, the only compose here, cannot
 * run a one-off container of a service that is running with network_mode host (it links the one-off
 * container to the running one, which the engine refuses: docker/compose#4548, fixed only in v2),
 * and the plan's dry run and the deploy's migration run while api is up.
 */
export const MIGRATE_COMMAND = 'docker-compose run --rm migrate alembic';

interface Release {
  tag: string;
  /** Revisions whose files ship in the release (by their file name's number). */
  head: string;
  /** What GET /api/users runs: the broken release names a column no migration created. */
  usersQuery: string;
}
export const API_RELEASES: readonly Release[] = [
  { tag: '2026-11-20', head: '0006', usersQuery: 'SELECT id, email, name FROM users ORDER BY id' },
  { tag: '2026-11-25-rc1', head: '0007', usersQuery: 'SELECT id, email, nickname FROM users ORDER BY id' },
];
export const GOOD_TAG = API_RELEASES[0].tag;
export const BROKEN_TAG = API_RELEASES[1].tag;

/** The release's app directory: alembic.ini, env.py, the versions up to its head, service.py, release.json. */
function writeRelease(dir: string, release: Release): void {
  mkdirSync(path.join(dir, 'alembic'), { recursive: true });
  cpSync(path.join(ALEMBIC_APP, 'alembic.ini'), path.join(dir, 'alembic.ini'));
  const versions = path.join(dir, 'alembic', 'versions');
  mkdirSync(versions, { recursive: true });
  for (const file of ['env.py', 'script.py.mako'])
    cpSync(path.join(ALEMBIC_APP, 'alembic', file), path.join(dir, 'alembic', file));
  // The fixture app's graph up to 0006 (a branch and a merge), then the stack's own 0007.
  const shipped = (from: string, upTo: string) => {
    for (const file of readdirSync(from))
      if (file.endsWith('.py') && file.slice(0, 4) <= upTo && file.slice(0, 4) <= release.head)
        cpSync(path.join(from, file), path.join(versions, file));
  };
  shipped(path.join(ALEMBIC_APP, 'alembic', 'versions'), '0006');
  shipped(path.join(STACK_FIXTURE, 'versions'), '9999');
  cpSync(path.join(STACK_FIXTURE, 'service.py'), path.join(dir, 'service.py'));
  writeFileSync(
    path.join(dir, 'release.json'),
    `${JSON.stringify({ version: release.tag, users_query: release.usersQuery }, null, 2)}\n`,
  );
  writeFileSync(path.join(dir, 'VERSION'), `${release.tag}\n`);
}

/** Both services from one image; IMAGE_TAG comes from redeploy-tag, or from .env (the tag the deploy migrated with). */
export function apiComposeFile(image: string): string {
  const service = (role: string, port: string) => `  ${role}:
    image: ${image}:\${IMAGE_TAG}
    network_mode: host
    command: ["python3", "service.py", "${role}"]
    environment:
      DATABASE_URL: \${DATABASE_URL}
      ${port}: \${${port}}
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:\${${port}}/readyz', timeout=2)"]
      interval: 1s
      timeout: 3s
      retries: 3
      # Python imports SQLAlchemy and Alembic before it listens: slow on a loaded machine.
      start_period: 120s
`;
  return `# The API stack on its deploy host: api and jobs, one image. The rest comes from .env.
services:
${service('api', 'API_PORT')}${service('jobs', 'JOBS_PORT')}  # One-off containers only: docker-compose run --rm migrate alembic <command>.
  migrate:
    image: ${image}:\${IMAGE_TAG}
    network_mode: host
    command: ["alembic", "current"]
    environment:
      DATABASE_URL: \${DATABASE_URL}
`;
}

/**
 * The team's migrate step: records the release's tag in the deploy host's .env (so that
 * `docker-compose run --rm migrate alembic` runs this release's code, during a rollback too), then
 * migrates with the release's image.
 */
function migrateUpScript(deployHost: string): string {
  return `#!/usr/bin/env bash
set -euo pipefail
tag=$(cat "$(dirname "$0")/../VERSION")
cd ${JSON.stringify(deployHost)}
sed -i '/^IMAGE_TAG=/d' .env
echo "IMAGE_TAG=$tag" >> .env
${MIGRATE_COMMAND} upgrade head
`;
}

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await runProcess('git', ['-C', dir, ...args], { env: { ...process.env, ...GIT_ENV } })).stdout.trim();
}

export interface ApiStackContext {
  image: string;
  jobsPort: number;
}

/** Builds each release's image from its tree and commits it as a tagged release; lays out the deploy host. */
export function apiStackSetup(stack: ApiStackContext): AppSetup {
  const dockerHost = serviceEnv('dockerHost');
  return {
    repository: API_REPOSITORY,
    vars: {
      ROLLBACK_MIGRATIONS_DIR: 'alembic/versions',
      ROLLBACK_MIGRATIONS_FORMAT: 'alembic',
      ROLLBACK_TAG_ORDER: 'date',
      ROLLBACK_MIGRATE_COMMAND: MIGRATE_COMMAND,
      ROLLBACK_SERVICES: 'api,jobs',
      ROLLBACK_HEALTH_TIMEOUT: '3m',
      ROLLBACK_IMAGE: stack.image,
    },
    async prepare({ appRepo, deployHost, databaseUrl, port, project }: AppContext) {
      mkdirSync(appRepo, { recursive: true });
      await git(appRepo, 'init', '-q', '-b', 'main');
      const common: Record<string, string> = {
        'scripts/migrate-up.sh': migrateUpScript(deployHost),
        '.github/smoke.yml': readFileSync(path.join(STACK_FIXTURE, 'smoke.yml'), 'utf8'),
        'deploy/docker-compose.yml': apiComposeFile(stack.image),
        '.github/workflows/deploy.yml': readFileSync(
          path.join(REPO_ROOT, 'action-docs', 'examples', 'deploy.yml'),
          'utf8',
        ),
      };
      for (const release of API_RELEASES) {
        // The image holds the release's tree (not the repository's .git), built before it is committed.
        const tree = path.join(path.dirname(appRepo), `api-${release.tag}`);
        writeRelease(tree, release);
        await buildAlembicImage(dockerHost, `${stack.image}:${release.tag}`, tree, `alembic-stack-${release.tag}`);
        cpSync(tree, appRepo, { recursive: true });
        for (const [file, content] of Object.entries(common)) {
          mkdirSync(path.dirname(path.join(appRepo, file)), { recursive: true });
          writeFileSync(path.join(appRepo, file), content, { mode: file.endsWith('.sh') ? 0o755 : 0o644 });
        }
        await git(appRepo, 'add', '-A');
        await git(appRepo, 'commit', '-q', '-m', `Release ${release.tag}`);
        await git(appRepo, 'tag', '-a', release.tag, '-m', `Release ${release.tag}`);
      }
      mkdirSync(deployHost, { recursive: true });
      cpSync(path.join(appRepo, 'deploy', 'docker-compose.yml'), path.join(deployHost, 'docker-compose.yml'));
      const env = {
        COMPOSE_PROJECT_NAME: project,
        DATABASE_URL: databaseUrl,
        API_PORT: String(port),
        JOBS_PORT: String(stack.jobsPort),
        IMAGE_TAG: GOOD_TAG,
      };
      writeFileSync(
        path.join(deployHost, '.env'),
        Object.entries(env)
          .map(([name, value]) => `${name}=${value}\n`)
          .join(''),
        { mode: 0o600 },
      );
    },
  };
}

/** What runs after the story, read from the engine, the services and the database. */
export interface ApiStackState {
  /** service → the tag of its running container's image. */
  runningTags: Record<string, string>;
  readyz: { status: number; body: { ready?: boolean; reason?: string; version?: string } };
  jobsReadyz: { status: number; body: { ready?: boolean; reason?: string; version?: string } };
  healthz: { status: number; version: string };
  alembicVersion: string[];
}

export interface ApiStackResult {
  deploys: Record<string, WorkflowRun>;
  /** The rollback.yml run deploy.yml's rollback job called through auto-rollback.yml. */
  rollback: WorkflowRun;
  runs: StoryRun[];
  /** The failed smoke test's end to the rollback's smoke test passing. */
  detectionToHealthyMs: number;
  state: ApiStackState;
  /** The broken release's readiness against the rolled-back schema (0006): not ready, with the reason. */
  brokenReleaseOnRolledBack: { ready?: boolean; reason?: string };
  seconds: number;
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url).catch(() => undefined);
  if (!response) return { status: 0, body: {} };
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

async function stackState(world: DemoWorld, jobsPort: number): Promise<ApiStackState> {
  const { stdout } = await runProcess(
    'docker',
    [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${world.project}`,
      '--format',
      '{{.Label "com.docker.compose.service"}} {{.Image}}',
    ],
    { env: world.engineEnv },
  );
  const runningTags: Record<string, string> = {};
  for (const line of stdout.trim().split('\n').filter(Boolean)) {
    const [service, image] = line.split(' ');
    runningTags[service] = image.split(':').at(-1) ?? '';
  }
  const healthz = await getJson(`${world.baseUrl}/healthz`);
  const version = await world.database
    .query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')
    .catch(() => ({ rows: [] as { version_num: string }[] }));
  return {
    runningTags,
    readyz: (await getJson(`${world.baseUrl}/readyz`)) as ApiStackState['readyz'],
    jobsReadyz: (await getJson(`http://127.0.0.1:${jobsPort}/readyz`)) as ApiStackState['jobsReadyz'],
    healthz: { status: healthz.status, version: String(healthz.body.version ?? '') },
    alembicVersion: version.rows.map((row) => row.version_num),
  };
}

/** Deploys the good and then the broken date-tagged release; the broken one's failed smoke test rolls it back. */
export async function runApiStack(options: { root: string; log: (line: string) => void }): Promise<ApiStackResult> {
  const { log } = options;
  const started = Date.now();
  const jobsPort = await freePort();
  const image = `localhost/${testResourceName('api-stack')}`;
  const world = await createDemoWorld({
    root: options.root,
    log,
    app: apiStackSetup({ image, jobsPort }),
  });
  try {
    const deploys: Record<string, WorkflowRun> = {};
    const runs: StoryRun[] = [];
    for (const { tag } of API_RELEASES) {
      log(`\n=== API stack: deploy ${tag} (migrate with the image's alembic, redeploy api and jobs, smoke test) ===`);
      deploys[tag] = await world.run('deploy.yml', { tag, environment: ENVIRONMENT });
      runs.push({
        label: `API stack: deploy ${tag}`,
        run: deploys[tag],
        expectedFailures: tag === BROKEN_TAG ? ['Deploy / deploy'] : [],
      });
      const state = await stackState(world, jobsPort);
      log(
        `=== API stack: deploy ${tag}: ${deploys[tag].conclusion}; running ${JSON.stringify(state.runningTags)}, /readyz ${state.readyz.status}, alembic_version ${state.alembicVersion.join(',')}`,
      );
    }
    // What /readyz of the release left behind answers now that the database is back at 0006.
    const probe = await runProcess(
      'docker',
      [
        'run',
        '--rm',
        '--network',
        'host',
        '-e',
        `DATABASE_URL=${world.database.url}`,
        `${image}:${BROKEN_TAG}`,
        'python3',
        '-c',
        'import json, service; print(json.dumps(service.readiness()[1]))',
      ],
      { env: world.engineEnv },
    );
    const brokenReleaseOnRolledBack = JSON.parse(probe.stdout.trim()) as ApiStackResult['brokenReleaseOnRolledBack'];
    const failed = deploys[BROKEN_TAG];
    const smoke = step(failed.jobs.deploy, 'Smoke test');
    if (!smoke || smoke.outcome !== 'failure')
      throw new Error(
        `the ${BROKEN_TAG} deploy's smoke test did not fail (${smoke?.outcome ?? 'did not run'}): the API stack's premise is broken`,
      );
    const rollback = findCalled(failed, 'rollback', 'rollback');
    const healthy = step(rollback.jobs.rollback, 'Healthy');
    return {
      deploys,
      rollback,
      runs,
      detectionToHealthyMs:
        healthy && healthy.outcome === 'success'
          ? healthy.startedAt - (smoke.startedAt + smoke.durationMs)
          : Number.NaN,
      state: await stackState(world, jobsPort),
      brokenReleaseOnRolledBack,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await world.stop();
    await runProcess('docker', ['image', 'rm', '-f', ...API_RELEASES.map(({ tag }) => `${image}:${tag}`)], {
      env: world.engineEnv,
      okExitCodes: [0, 1],
    });
  }
}

/** What the API stack's rollback must have done; empty when all holds. */
export function apiStackProblems(result: ApiStackResult): string[] {
  const problems: string[] = [];
  const { state, rollback } = result;
  const outcome = rollback.outputs.outcome ?? '';
  if (outcome !== 'rolled-back') {
    // Where it stopped: the first failed step of each failed job of the rollback.
    const stops = Object.entries(rollback.jobs)
      .filter(([, job]) => job.outcome === 'failure')
      .map(([id, job]) => `${id} at "${job.steps.find((candidate) => candidate.outcome === 'failure')?.name ?? '?'}"`);
    problems.push(
      `API stack: rollback outcome ${outcome || 'none'}${stops.length ? ` (failed: ${stops.join(', ')})` : ''}`,
    );
  }
  if (rollback.outputs['target-tag'] !== GOOD_TAG)
    problems.push(`API stack: rolled back to ${rollback.outputs['target-tag'] || 'nothing'}, not ${GOOD_TAG}`);
  for (const service of ['api', 'jobs'])
    if (state.runningTags[service] !== GOOD_TAG)
      problems.push(`API stack: ${service} runs ${state.runningTags[service] ?? 'nothing'}, not ${GOOD_TAG}`);
  if (state.alembicVersion.join(',') !== '0006')
    problems.push(`API stack: alembic_version ${state.alembicVersion.join(',') || 'empty'}, not 0006`);
  if (state.readyz.status !== 200)
    problems.push(`API stack: /readyz ${state.readyz.status} ${state.readyz.body.reason ?? ''}`);
  if (state.jobsReadyz.status !== 200)
    problems.push(`API stack: jobs /readyz ${state.jobsReadyz.status} ${state.jobsReadyz.body.reason ?? ''}`);
  return problems;
}

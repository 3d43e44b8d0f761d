import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { startArtifactService, type ArtifactService } from '../../testkit/artifacts/index.js';
import { createTestDatabase, withAdmin, type TestDatabase } from '../../testkit/database.js';
import { dockerEnv } from '../../testkit/demo-app.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { listenLocal, type LocalHttpServer } from '../../testkit/local-http.js';
import { freePort } from '../../testkit/services/free-port.js';
import { buildPostgresServiceImage } from '../../testkit/services/postgres-image.js';
import { serviceEnv } from '../../testkit/services/index.js';
import { REPO_ROOT } from '../actions.js';
import { ConcurrencyRegistry } from '../local-runner/concurrency.js';
import type { Json } from '../local-runner/expressions.js';
import { runWorkflow } from '../local-runner/runner.js';
import type { EnvironmentSettings, RunOptions, WorkflowRun } from '../local-runner/types.js';
import { createDemoAppRepository, prepareDeployHost } from './app-repo.js';

/**
 * The demo's world: the demo app's repository (release tags, the example callers), its deploy host
 * (a compose project on this machine's engine), its PostgreSQL database, GitHub's API and artifact
 * service as local stand-ins, a webhook, and the settings a team would give the repository. Every
 * workflow run goes through the local runner against this world, so the story (scenario.ts), the
 * scenario tests and the benchmark all exercise the same wiring.
 *
 * Secrets are laid out as the README recommends: DATABASE_URL is an environment secret only, the
 * migrating user in `production` (behind its reviewers) and a read-only user in `production-plan`
 * (no reviewers), so the plan can read the database before anyone approves the rollback job.
 */
export const APP_REPOSITORY = 'acme/shop';
export const SUITE_REPOSITORY = 'rollback-actions/rollback-actions';
export const ENVIRONMENT = 'production';

export interface WorldOptions {
  /** Working directory (repositories, deploy host, runner workspaces); removed by stop(). */
  root: string;
  log: (line: string) => void;
  /** Build the postgres image the drill's service container needs. */
  drill?: boolean;
  /** Modelled wait before each job starts, as GitHub-hosted runners take (the benchmark). */
  jobStartLatencyMs?: number;
  /** How the app runs on its deploy host: a compose project (default), or a stack on the engine's swarm (a single-node manager). */
  platform?: 'compose' | 'swarm';
  /** Another app than the demo app (the second stack): its repository, deploy host and settings. */
  app?: AppSetup;
}

/** What the world hands an app's setup: where its repository and deploy host go, and what they reach. */
export interface AppContext {
  appRepo: string;
  deployHost: string;
  databaseUrl: string;
  port: number;
  project: string;
}

/** An app other than the demo app: how its repository and deploy host are made, and its repository variables. */
export interface AppSetup {
  repository: string;
  prepare(context: AppContext): Promise<void>;
  vars: Record<string, string>;
}

export interface RunSettings {
  /** One of the suite's own workflows, as if copied into the app repository. */
  suite?: boolean;
  eventName?: string;
  eventPayload?: Record<string, Json>;
  ref?: string;
  vars?: Record<string, string>;
  /** Repository secrets beyond the world's own. */
  secrets?: Record<string, string>;
  environments?: Record<string, EnvironmentSettings>;
}

export interface AppState {
  runningTag: string;
  healthStatus: number;
  healthVersion: string;
  schemaVersion: number | undefined;
}

export interface DemoWorld {
  run(workflow: string, inputs: Record<string, Json>, settings?: RunSettings): Promise<WorkflowRun>;
  appState(): Promise<AppState>;
  github: Awaited<ReturnType<typeof startFakeGitHub>>;
  artifacts: ArtifactService;
  database: TestDatabase;
  /** The read-only role's URL (production-plan's DATABASE_URL). */
  readerUrl: string;
  concurrency: ConcurrencyRegistry;
  baseUrl: string;
  appRepo: string;
  deployHost: string;
  /** The compose project, or the swarm stack (its app service is <project>_app). */
  project: string;
  engineEnv: Record<string, string>;
  notifications: string[];
  stop(): Promise<void>;
}

/** A Slack-compatible incoming webhook that keeps the messages' text. */
function startWebhook(messages: string[]): Promise<LocalHttpServer> {
  return listenLocal((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      messages.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string }).text);
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
}

/** A login that can read every table the app's migrations create, and change nothing. */
async function createReader(database: TestDatabase): Promise<string> {
  const role = `reader_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const owner = new URL(database.url).username;
  await database.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  for (const statement of [
    `GRANT CONNECT ON DATABASE "${database.name}" TO ${role}`,
    `GRANT USAGE ON SCHEMA public TO ${role}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE "${owner}" IN SCHEMA public GRANT SELECT ON TABLES TO ${role}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE "${owner}" IN SCHEMA public GRANT SELECT ON SEQUENCES TO ${role}`,
  ]) {
    await database.query(statement);
  }
  const url = new URL(database.url);
  url.username = role;
  url.password = password;
  return url.toString();
}

export async function createDemoWorld(options: WorldOptions): Promise<DemoWorld> {
  const { log, root } = options;
  const platform = options.platform ?? 'compose';
  mkdirSync(root, { recursive: true });
  const token = `ghs_demo${randomBytes(12).toString('hex')}`;
  const smokeToken = `op-${randomBytes(10).toString('hex')}`;
  const project = `rollback-demo-${randomBytes(3).toString('hex')}`;
  const engineEnv = dockerEnv();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const imageRepository = serviceEnv('demoImage');
  const notifications: string[] = [];
  const database = await createTestDatabase('rollback_demo');
  const readerUrl = await createReader(database);
  const github = await startFakeGitHub({ token });
  const artifacts = await startArtifactService({ github: github.server });
  const webhook = await startWebhook(notifications);
  const repository = options.app?.repository ?? APP_REPOSITORY;
  const appRepo = path.join(root, repository.split('/')[1]);
  const deployHost = path.join(root, 'deploy-host');
  const concurrency = new ConcurrencyRegistry();
  log(
    `demo: database ${database.name}, app on ${baseUrl}, ${platform === 'swarm' ? 'swarm stack' : 'compose project'} ${project}, GitHub and artifact stand-ins on ${github.server.baseUrl}, ${artifacts.baseUrl}`,
  );
  if (options.app) await options.app.prepare({ appRepo, deployHost, databaseUrl: database.url, port, project });
  else {
    await createDemoAppRepository(appRepo, imageRepository);
    prepareDeployHost(
      deployHost,
      appRepo,
      { DATABASE_URL: database.url, APP_PORT: String(port), OPERATOR_TOKEN: smokeToken },
      platform,
    );
  }
  const serviceImages: Record<string, string> = options.drill
    ? { postgres: await buildPostgresServiceImage(engineEnv.DOCKER_HOST, serviceEnv('pgBinDir')) }
    : {};

  let runNumber = 1000;
  const run: DemoWorld['run'] = async (workflow, inputs, settings = {}) => {
    const runId = ++runNumber;
    const runOptions: RunOptions = {
      workflowPath: path.join(settings.suite ? REPO_ROOT : appRepo, '.github', 'workflows', workflow),
      workflowRepository: settings.suite
        ? { name: SUITE_REPOSITORY, dir: REPO_ROOT }
        : { name: repository, dir: appRepo },
      serviceImages,
      repository,
      eventName: settings.eventName ?? 'workflow_dispatch',
      eventPayload: settings.eventPayload,
      ref: settings.ref,
      inputs,
      runId,
      secrets: {
        GITHUB_TOKEN: token,
        SMOKE_TOKEN: smokeToken,
        ROLLBACK_WEBHOOK_URL: `${webhook.baseUrl}/hook`,
        ...settings.secrets,
      },
      vars: {
        ROLLBACK_WORKING_DIRECTORY: deployHost,
        ...(platform === 'swarm'
          ? { ROLLBACK_REDEPLOY_STRATEGY: 'swarm', ROLLBACK_STACK: project, ROLLBACK_COMPOSE_FILE: 'stack.yml' }
          : { ROLLBACK_PROJECT_NAME: project }),
        ROLLBACK_SERVICES: 'app',
        ROLLBACK_BASE_URL: baseUrl,
        ROLLBACK_HEALTH_TIMEOUT: '60s',
        ROLLBACK_IMAGE: imageRepository,
        ...options.app?.vars,
        ...settings.vars,
      },
      environments: {
        [ENVIRONMENT]: { secrets: { DATABASE_URL: database.url } },
        [`${ENVIRONMENT}-plan`]: { secrets: { DATABASE_URL: readerUrl } },
        ...settings.environments,
      },
      concurrency,
      tokenFor: (permissions) => github.server.grantToken(permissions),
      jobStartLatencyMs: options.jobStartLatencyMs,
      // GITHUB_SERVER_URL stays github.com: @actions/artifact refuses any other host as GHES.
      env: {
        ...engineEnv,
        GITHUB_API_URL: github.server.baseUrl,
        ...artifacts.runnerEnv(runId, { repository }),
      },
      repositories: {
        [repository]: { dir: appRepo, checkout: 'clone' },
        // The suite as it is in this checkout (its built dist/), wherever a workflow says @v1.
        [SUITE_REPOSITORY]: { dir: REPO_ROOT, checkout: 'link', linkEntries: ['actions', 'dist', '.github'] },
      },
      runRoot: path.join(root, 'runs', String(runId)),
      log,
    };
    return runWorkflow(runOptions);
  };

  const appState = async (): Promise<AppState> => {
    // What the engine runs: the project's containers, or the stack's running tasks.
    const listing =
      platform === 'swarm'
        ? [
            'service',
            'ps',
            '--filter',
            'desired-state=running',
            '--format',
            '{{.Image}} {{.CurrentState}}',
            `${project}_app`,
          ]
        : ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Image}}'];
    const { stdout } = await runProcess('docker', listing, { env: engineEnv, okExitCodes: [0, 1] });
    const images = stdout
      .trim()
      .split('\n')
      .filter((line) => line && (platform === 'compose' || line.includes(' Running ')))
      .map((line) => line.split(' ')[0]);
    const response = await fetch(`${baseUrl}/health`).catch(() => undefined);
    const body = response ? ((await response.json().catch(() => ({}))) as { version?: string }) : {};
    const schema = await database
      .query<{ version: string }>('SELECT version FROM schema_migrations')
      .catch(() => ({ rows: [] as { version: string }[] }));
    return {
      runningTag: images.map((image) => image.split(':').at(-1)).join(','),
      healthStatus: response?.status ?? 0,
      healthVersion: body.version ?? '',
      schemaVersion: schema.rows[0] ? Number(schema.rows[0].version) : undefined,
    };
  };

  const stop = async () => {
    const down =
      platform === 'swarm'
        ? runProcess('docker', ['stack', 'rm', project], { env: engineEnv })
        : runProcess(
            'docker-compose',
            ['-p', project, '-f', path.join(deployHost, 'docker-compose.yml'), 'down', '--timeout', '1'],
            { env: engineEnv, cwd: deployHost },
          );
    await down.catch((error: Error) => log(`demo: taking the app down failed: ${error.message}`));
    const role = new URL(readerUrl).username;
    await database.drop().catch(() => undefined);
    await withAdmin((client) => client.query(`DROP ROLE IF EXISTS ${role}`)).catch(() => undefined);
    await github.server.stop();
    await artifacts.stop();
    await webhook.stop();
    rmSync(root, { recursive: true, force: true });
  };

  return {
    run,
    appState,
    github,
    artifacts,
    database,
    readerUrl,
    concurrency,
    baseUrl,
    appRepo,
    deployHost,
    project,
    engineEnv,
    notifications,
    stop,
  };
}

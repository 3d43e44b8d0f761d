import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { locateBackup } from '../../shared/backup/artifacts.js';
import { sha256File } from '../../shared/backup/checksum.js';
import { runProcess } from '../../shared/process.js';
import { startArtifactService, type ArtifactService } from '../../__tests__/support/artifacts/index.js';
import { createTestDatabase } from '../../__tests__/support/database.js';
import { dockerEnv } from '../../__tests__/support/demo-app.js';
import { startFakeGitHub } from '../../__tests__/support/github-api/index.js';
import { listenLocal, type LocalHttpServer } from '../../__tests__/support/local-http.js';
import { freePort } from '../../__tests__/support/services/free-port.js';
import { buildPostgresServiceImage } from '../../__tests__/support/services/postgres-image.js';
import { serviceEnv } from '../../__tests__/support/services/index.js';
import { REPO_ROOT } from '../actions.js';
import { runWorkflow } from '../local-runner/runner.js';
import type { Json } from '../local-runner/expressions.js';
import type { JobRun, RunOptions, StepRun, WorkflowRun } from '../local-runner/types.js';
import { createDemoAppRepository, prepareDeployHost } from './app-repo.js';

/**
 * The whole story on one machine, through the real workflow files run by the local runner: the
 * demo app's deploy pipeline (action-docs/examples/deploy.yml, copied into the app repository as
 * users copy it) deploys v1.1.0, then v1.2.0 (a breaking migration), then the broken v1.3.0, whose
 * smoke test fails; its rollback job calls auto-rollback.yml, which calls rollback.yml: plan,
 * backup, revert or not, redeploy, smoke. Optionally an on-call engineer then presses the manual
 * button (rollback.yml via the example caller) to go back to v1.1.0, which needs down migrations.
 *
 * Real parts throughout: PostgreSQL, the container engine with docker-compose, the bundled actions;
 * GitHub's REST API and artifact service are the local stand-ins.
 */
export const APP_REPOSITORY = 'acme/shop';
const SUITE_REPOSITORY = 'rollback-actions/rollback-actions';
const ENVIRONMENT = 'production';

export interface DemoOptions {
  /** Working directory for the run (repositories, deploy host, runner workspaces); removed at the end. */
  root: string;
  log: (line: string) => void;
  /** After the automatic rollback, roll back by hand to this tag (rollback.yml via the example caller). */
  manualRollbackTo?: string;
  /** After the automatic rollback (before any manual one), run the monthly drill (rollback-drill.yml). */
  drill?: boolean;
  /** Runs after the drill, before the manual rollback: more workflow runs against the same world (tests). */
  extra?: (world: DemoWorld) => Promise<void>;
  /** How the app runs on its deploy host: a compose project (default), or a stack on a swarm manager (the engine's own swarm). */
  platform?: 'compose' | 'swarm';
}

/** The running demo, for runs beyond the story's own. */
export interface DemoWorld {
  /** A workflow of the app repository, or (suite) one of the suite's own as if copied into it. */
  run(workflow: string, inputs: Record<string, string>, options?: { suite?: boolean; eventName?: string; eventPayload?: Record<string, Json>; vars?: Record<string, string> }): Promise<WorkflowRun>;
  appState(): Promise<AppState>;
  github: Awaited<ReturnType<typeof startFakeGitHub>>;
  /** The deploy host's directory (its compose or stack file). */
  deployHost: string;
  /** The compose project, or the swarm stack. */
  project: string;
}

export interface AppState {
  runningTag: string;
  healthStatus: number;
  healthVersion: string;
  schemaVersion: number | undefined;
}

export interface RollbackRecord {
  /** The rollback.yml run (called by auto-rollback or by the manual caller). */
  run: WorkflowRun;
  /** Detection (the failed smoke test's end, or the button press) to the rollback's smoke test passing, as the runner saw it. */
  detectionToHealthyMs: number;
  /** The figure the workflow itself reported in its summary. */
  reportedSeconds: string;
  strategy: string;
  outcome: string;
  backup: { artifactName: string; checksum: string; artifactChecksum: string };
  state: AppState;
}

export interface DemoResult {
  deploys: Record<string, WorkflowRun>;
  automatic: RollbackRecord;
  manual?: RollbackRecord;
  drill?: WorkflowRun;
  notifications: string[];
  timelines: string[];
}

function findCalled(run: WorkflowRun, ...jobs: string[]): WorkflowRun {
  let current = run;
  for (const job of jobs) {
    const called = current.jobs[job]?.called;
    if (!called) throw new Error(`${current.name}: job ${job} did not call a workflow (result ${current.jobs[job]?.result ?? 'missing'})`);
    current = called;
  }
  return current;
}

function step(job: JobRun | undefined, prefix: string): StepRun | undefined {
  return job?.steps.find((candidate) => candidate.name.startsWith(prefix));
}

/** Every job and step of a run, nested calls included, relative to `origin`. */
export function timeline(run: WorkflowRun, origin: number, depth = 0): string[] {
  const lines: string[] = [];
  const at = (time: number) => `${((time - origin) / 1000).toFixed(1).padStart(6)}s`;
  const pad = '  '.repeat(depth);
  lines.push(`${at(run.startedAt)} ${pad}▶ ${run.name}: ${run.conclusion} (${(run.durationMs / 1000).toFixed(1)}s)`);
  for (const job of Object.values(run.jobs)) {
    if (job.result === 'skipped') {
      lines.push(`${' '.repeat(7)} ${pad}  ○ ${job.name}: skipped`);
      continue;
    }
    if (job.called) {
      lines.push(...timeline(job.called, origin, depth + 1));
      continue;
    }
    lines.push(`${at(job.startedAt)} ${pad}  ● ${job.name}: ${job.result} (${(job.durationMs / 1000).toFixed(1)}s)`);
    for (const ran of job.steps.filter((candidate) => candidate.outcome !== 'skipped')) {
      lines.push(`${at(ran.startedAt)} ${pad}      ${ran.outcome === 'success' ? '✓' : '✗'} ${ran.name} (${(ran.durationMs / 1000).toFixed(1)}s)`);
    }
  }
  return lines;
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

/** sha256 of the backup file inside a stored artifact zip (the dump itself, not its metadata). */
async function artifactDumpChecksum(artifacts: ArtifactService, name: string, dir: string): Promise<string> {
  const record = artifacts.find(name);
  if (!record) throw new Error(`artifact ${name} was not uploaded`);
  const target = path.join(dir, `${name}-unzipped`);
  mkdirSync(target, { recursive: true });
  await runProcess('unzip', ['-q', '-o', artifacts.storedFile(record.id), '-d', target]);
  return await sha256File((await locateBackup(target)).backupPath);
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { log, root } = options;
  mkdirSync(root, { recursive: true });
  const token = `ghs_demo${randomBytes(12).toString('hex')}`;
  const smokeToken = `op-${randomBytes(10).toString('hex')}`;
  const platform = options.platform ?? 'compose';
  // The compose project, or the swarm stack: the app service is <stack>_app.
  const project = `rollback-demo-${randomBytes(3).toString('hex')}`;
  const engineEnv = dockerEnv();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const imageRepository = serviceEnv('demoImage');

  const notifications: string[] = [];
  let github: Awaited<ReturnType<typeof startFakeGitHub>> | undefined;
  let artifacts: ArtifactService | undefined;
  let webhook: LocalHttpServer | undefined;
  const database = await createTestDatabase('rollback_demo');
  const appRepo = path.join(root, 'shop');
  const deployHost = path.join(root, 'deploy-host');
  try {
    github = await startFakeGitHub({ token });
    artifacts = await startArtifactService({ github: github.server });
    webhook = await startWebhook(notifications);
    log(`demo: database ${database.name}, app on ${baseUrl}, ${platform === 'swarm' ? 'swarm stack' : 'compose project'} ${project}, GitHub and artifact stand-ins on ${github.server.baseUrl}, ${artifacts.baseUrl}`);

    await createDemoAppRepository(appRepo, imageRepository);
    prepareDeployHost(deployHost, appRepo, { DATABASE_URL: database.url, APP_PORT: String(port), OPERATOR_TOKEN: smokeToken }, platform);

    let runNumber = 1000;
    const serviceImages: Record<string, string> = options.drill ? { postgres: await buildPostgresServiceImage(engineEnv.DOCKER_HOST, serviceEnv('pgBinDir')) } : {};
    /** Runs a workflow of the app repository, or (suite: true) one of the suite's own, as if copied into the app repository. */
    const run: DemoWorld['run'] = async (workflow, inputs, runOptionsGiven = {}) => {
      const suite = runOptionsGiven.suite ?? false;
      const runId = ++runNumber;
      const runOptions: RunOptions = {
        workflowPath: path.join(suite ? REPO_ROOT : appRepo, '.github', 'workflows', workflow),
        workflowRepository: suite ? { name: SUITE_REPOSITORY, dir: REPO_ROOT } : { name: APP_REPOSITORY, dir: appRepo },
        serviceImages,
        repository: APP_REPOSITORY,
        eventName: runOptionsGiven.eventName ?? 'workflow_dispatch',
        eventPayload: runOptionsGiven.eventPayload,
        inputs,
        runId,
        secrets: {
          GITHUB_TOKEN: token,
          DATABASE_URL: database.url,
          SMOKE_TOKEN: smokeToken,
          ROLLBACK_WEBHOOK_URL: `${webhook!.baseUrl}/hook`,
        },
        vars: {
          ROLLBACK_WORKING_DIRECTORY: deployHost,
          ...(platform === 'swarm' ? { ROLLBACK_REDEPLOY_STRATEGY: 'swarm', ROLLBACK_STACK: project, ROLLBACK_COMPOSE_FILE: 'stack.yml' } : { ROLLBACK_PROJECT_NAME: project }),
          ROLLBACK_SERVICES: 'app',
          ROLLBACK_BASE_URL: baseUrl,
          ROLLBACK_HEALTH_TIMEOUT: '60s',
          ROLLBACK_IMAGE: imageRepository,
          ...runOptionsGiven.vars,
        },
        // GITHUB_SERVER_URL stays github.com: @actions/artifact refuses any other host as GHES.
        env: { ...engineEnv, GITHUB_API_URL: github!.server.baseUrl, ...artifacts!.runnerEnv(runId, { repository: APP_REPOSITORY }) },
        repositories: {
          [APP_REPOSITORY]: { dir: appRepo, checkout: 'clone' },
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
          ? ['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Image}} {{.CurrentState}}', `${project}_app`]
          : ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Image}}'];
      const { stdout } = await runProcess('docker', listing, { env: engineEnv, okExitCodes: [0, 1] });
      const images = stdout
        .trim()
        .split('\n')
        .filter((line) => line && (platform === 'compose' || line.includes(' Running ')))
        .map((line) => line.split(' ')[0]);
      const response = await fetch(`${baseUrl}/health`).catch(() => undefined);
      const body = response ? ((await response.json().catch(() => ({}))) as { version?: string }) : {};
      const schema = await database.query<{ version: string }>('SELECT version FROM schema_migrations').catch(() => ({ rows: [] as { version: string }[] }));
      return {
        runningTag: images.map((image) => image.split(':').at(-1)).join(','),
        healthStatus: response?.status ?? 0,
        healthVersion: body.version ?? '',
        schemaVersion: schema.rows[0] ? Number(schema.rows[0].version) : undefined,
      };
    };

    const record = async (rollback: WorkflowRun, detectedAt: number): Promise<RollbackRecord> => {
      const healthy = step(rollback.jobs.rollback, 'Healthy');
      const backupJob = rollback.jobs.backup;
      const artifactName = backupJob?.outputs['artifact-name'] ?? '';
      return {
        run: rollback,
        detectionToHealthyMs: healthy && healthy.outcome === 'success' ? healthy.startedAt - detectedAt : Number.NaN,
        reportedSeconds: rollback.outputs['detection-to-healthy-seconds'] ?? '',
        strategy: rollback.outputs.strategy ?? '',
        outcome: rollback.outputs.outcome ?? '',
        backup: {
          artifactName,
          checksum: backupJob?.outputs.checksum ?? '',
          artifactChecksum: artifactName ? await artifactDumpChecksum(artifacts!, artifactName, root) : '',
        },
        state: await appState(),
      };
    };

    const deploys: Record<string, WorkflowRun> = {};
    const timelines: string[] = [];
    for (const tag of ['v1.1.0', 'v1.2.0', 'v1.3.0']) {
      log(`\n=== deploy ${tag} (the app's deploy pipeline: backup, migrate up, redeploy, smoke test) ===`);
      deploys[tag] = await run('deploy.yml', { tag, environment: ENVIRONMENT });
      const state = await appState();
      log(`=== deploy ${tag}: ${deploys[tag].conclusion}; running ${state.runningTag}, /health ${state.healthStatus} ${state.healthVersion}, schema ${state.schemaVersion}`);
    }

    const failedDeploy = deploys['v1.3.0'];
    const smoke = step(failedDeploy.jobs.deploy, 'Smoke test');
    if (!smoke || smoke.outcome !== 'failure') throw new Error(`the v1.3.0 deploy's smoke test did not fail (${smoke?.outcome ?? 'did not run'}): the demo's premise is broken`);
    const detectedAt = smoke.startedAt + smoke.durationMs;
    const automaticRun = findCalled(failedDeploy, 'rollback', 'rollback');
    const automatic = await record(automaticRun, detectedAt);
    timelines.push(...timeline(failedDeploy, failedDeploy.startedAt));

    let drill: WorkflowRun | undefined;
    if (options.drill) {
      log('\n=== the monthly rollback drill (rollback-drill.yml, on a throwaway copy) ===');
      drill = await run('rollback-drill.yml', { environment: ENVIRONMENT }, { suite: true });
    }
    if (options.extra) {
      await options.extra({ run, appState, github: github!, deployHost, project });
    }

    let manual: RollbackRecord | undefined;
    if (options.manualRollbackTo) {
      log(`\n=== on-call: "Run workflow" on Rollback, target ${options.manualRollbackTo} ===`);
      const pressedAt = Date.now();
      const caller = await run('rollback.yml', { environment: ENVIRONMENT, 'target-tag': options.manualRollbackTo, reason: 'Drill: back to the release before the title rename' });
      manual = await record(findCalled(caller, 'rollback'), pressedAt);
      timelines.push('', ...timeline(caller, pressedAt));
    }
    return { deploys, automatic, manual, drill, notifications, timelines };
  } finally {
    const down = platform === 'swarm' ? runProcess('docker', ['stack', 'rm', project], { env: engineEnv }) : runProcess('docker-compose', ['-p', project, '-f', path.join(deployHost, 'docker-compose.yml'), 'down', '--timeout', '1'], { env: engineEnv, cwd: deployHost });
    await down.catch((error: Error) => log(`demo: taking the app down failed: ${error.message}`));
    await database.drop().catch(() => undefined);
    await github?.server.stop();
    await artifacts?.stop();
    await webhook?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

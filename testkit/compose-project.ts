import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectContainers, type ContainerInfo } from '../shared/engine/containers.js';
import { localExecutor } from '../shared/engine/executor.js';
import { runProcess } from '../shared/process.js';
import { demoImage, dockerEnv } from './demo-app.js';
import { freePort, waitFor } from './services/free-port.js';
import { testResourceName } from './services/index.js';

/**
 * A real compose project of the demo app for redeploy tests: a compose file in a temp dir whose
 * api service reads its tag from IMAGE_TAG, host networking on a free port, a busybox-wget
 * healthcheck (Docker Engine runs it natively every second), brought up with docker-compose
 * itself, the way it ran before the rollback.
 */
export interface ComposeProjectOptions {
  databaseUrl: string;
  /** Write the image with a fixed tag instead of ${IMAGE_TAG} (for the image-pinning input). */
  fixedTag?: string;
  healthcheck?: boolean;
  /** Make this release exit at start (restart: always then makes it a crash loop). */
  crashOn?: string;
  /** Add a second service, "worker": the same image on its own port, no healthcheck. */
  worker?: boolean;
}

export interface ComposeProject {
  dir: string;
  file: string;
  name: string;
  port: number;
  baseUrl: string;
  /** docker-compose up -d at a tag, waiting until /health answers. */
  up(tag: string): Promise<void>;
  /** The api containers (running or not). */
  containers(): Promise<ContainerInfo[]>;
  /** The one running api container (or another service's). */
  running(service?: string): Promise<ContainerInfo>;
  workerPort?: number;
  health(): Promise<{ status: number; body: { status?: string; version?: string } }>;
  /** Waits until the engine reports the api container healthy (its healthcheck passed). */
  waitHealthy(): Promise<ContainerInfo>;
  remove(): Promise<void>;
}

export function composeFileText(options: {
  port: number;
  databaseUrl: string;
  image: string;
  healthcheck: boolean;
  crashOn?: string;
  workerPort?: number;
}): string {
  const lines = [
    'services:',
    '  api:',
    `    image: ${options.image}`,
    '    network_mode: host',
    '    environment:',
    `      DATABASE_URL: "${options.databaseUrl}"`,
    `      PORT: "${options.port}"`,
    '      MARKER: "${MARKER:-none}"',
  ];
  if (options.crashOn) {
    lines.push(
      '    restart: always',
      `    entrypoint: ["/bin/sh", "-c", "if [ \\"$$APP_VERSION\\" = ${options.crashOn} ]; then echo 'fatal: export worker cannot start' >&2; exit 3; fi; exec /usr/bin/node /app/index.js"]`,
    );
  }
  if (options.healthcheck) {
    lines.push(
      '    healthcheck:',
      `      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:${options.port}/health"]`,
      '      interval: 1s',
      '      timeout: 3s',
      '      retries: 3',
    );
  }
  if (options.workerPort) {
    lines.push(
      '  worker:',
      `    image: ${options.image}`,
      '    network_mode: host',
      '    environment:',
      `      DATABASE_URL: "${options.databaseUrl}"`,
      `      PORT: "${options.workerPort}"`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function createComposeProject(options: ComposeProjectOptions): Promise<ComposeProject> {
  const name = testResourceName('redeploy');
  // The directory carries the project name, so compose's derived name (no -p) is that name too.
  const root = mkdtempSync(path.join(os.tmpdir(), 'redeploy-project-'));
  const dir = path.join(root, name);
  mkdirSync(dir);
  const port = await freePort();
  const workerPort = options.worker ? await freePort() : undefined;
  // docker-compose.yml: what compose finds without -f.
  const file = path.join(dir, 'docker-compose.yml');
  const image = demoImage(options.fixedTag ?? '${IMAGE_TAG}');
  writeFileSync(
    file,
    composeFileText({
      port,
      databaseUrl: options.databaseUrl,
      image,
      healthcheck: options.healthcheck ?? true,
      crashOn: options.crashOn,
      workerPort,
    }),
  );
  const env = dockerEnv();
  const baseUrl = `http://127.0.0.1:${port}`;

  const containers = async () => {
    const { stdout } = await runProcess(
      'docker',
      ['ps', '-a', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${name}`],
      { env },
    );
    const ids = stdout.split('\n').filter(Boolean);
    return await inspectContainers(localExecutor, ids, env);
  };
  const running = async (service = 'api') => {
    const list = (await containers()).filter(
      (container) => container.running && container.labels['com.docker.compose.service'] === service,
    );
    if (list.length !== 1)
      throw new Error(`expected one running ${service} container in ${name}, found ${list.length}`);
    return list[0];
  };
  const health = async () => {
    const response = await fetch(`${baseUrl}/health`);
    return { status: response.status, body: (await response.json()) as { status?: string; version?: string } };
  };
  return {
    dir,
    file,
    name,
    port,
    baseUrl,
    workerPort,
    async up(tag) {
      await runProcess(
        'docker-compose',
        ['-f', file, '-p', name, 'up', '-d', '--no-deps', 'api', ...(workerPort ? ['worker'] : [])],
        { cwd: dir, env: { ...env, IMAGE_TAG: tag } },
      );
      const version = options.fixedTag ?? tag;
      await waitFor(
        `${name} on ${version} to answer /health`,
        async () => ((await health().catch(() => undefined))?.body.version === version ? true : undefined),
        30_000,
        100,
      );
    },
    containers,
    running,
    health,
    waitHealthy: () =>
      waitFor(
        `${name} to be healthy`,
        async () => ((await running().catch(() => undefined))?.health === 'healthy' ? running() : undefined),
        30_000,
        250,
      ),
    async remove() {
      const ids = (await containers()).map((container) => container.id);
      if (ids.length > 0) await runProcess('docker', ['rm', '-f', ...ids], { env, okExitCodes: [0, 1] });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Inputs every compose redeploy test passes: the project, its file, the engine. */
export function projectInputs(project: ComposeProject, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'working-directory': project.dir,
    'compose-file': path.basename(project.file),
    'project-name': project.name,
    services: 'api',
    'health-timeout': '60s',
    ...extra,
  };
}

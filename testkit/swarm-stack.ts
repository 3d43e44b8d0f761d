import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { servicesWithTasks, inspectServices, type SwarmService, type SwarmTask } from '../shared/engine/swarm.js';
import { runProcess } from '../shared/process.js';
import { demoImage, dockerEnv, engineExecutor } from './demo-app.js';
import { waitFor } from './services/free-port.js';
import { testResourceName } from './services/index.js';

/**
 * A real Swarm stack of the demo app on the test engine (a single-node swarm manager), deployed
 * with `docker stack deploy` the way it ran before a rollback: "api" reads its tag from IMAGE_TAG
 * and has a busybox-wget healthcheck (run by the engine itself); "worker" is pinned to v1.2.0 and
 * is never meant to change. Host networking (no overlay data plane in sandboxes): replica N of api
 * listens on <portBase>N, through swarm's {{.Task.Slot}} template.
 */
export interface SwarmStackOptions {
  databaseUrl: string;
  replicas?: number;
  healthcheck?: boolean;
  /** Make this release exit at start (tasks fail with exit code 3). */
  crashOn?: string;
  /** Seconds the crashing release runs before it exits: its tasks are `running` meanwhile. */
  crashAfterSeconds?: number;
  /** update_config.failure_action: "pause" (Docker's default) or "rollback" (the swarm rolls back by itself). */
  failureAction?: 'pause' | 'rollback';
  /** Image as written in the file, default localhost/rollback-demo-app:${IMAGE_TAG}. */
  image?: string;
}

export interface SwarmStack {
  name: string;
  dir: string;
  file: string;
  /** api replica N listens on portBase * 10 + N. */
  apiUrl(slot?: number): string;
  workerUrl: string;
  /** `docker stack deploy` at a tag, then waits until every api task runs it and the update completed. */
  deploy(tag: string, env?: Record<string, string>): Promise<void>;
  service(short: string): Promise<SwarmService>;
  /** The service's tasks, old ones included. */
  tasks(short: string): Promise<SwarmTask[]>;
  /** The tasks that should run now. */
  current(short: string): Promise<SwarmTask[]>;
  health(slot?: number): Promise<{ status: number; version?: string }>;
  remove(): Promise<void>;
}

async function portsFree(ports: number[]): Promise<boolean> {
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/** A decade of ports (base*10+1 ... base*10+9) that are free now, for {{.Task.Slot}}-numbered replicas. */
export async function freePortDecade(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 2000 + Math.floor(Math.random() * 4000);
    if (await portsFree([1, 2, 3, 9].map((slot) => base * 10 + slot))) return base;
  }
  throw new Error('no free decade of ports');
}

export function stackFileText(options: SwarmStackOptions & { portBase: number; workerPort: number }): string {
  const lines = [
    'services:',
    '  api:',
    `    image: ${options.image ?? demoImage('${IMAGE_TAG}')}`,
    '    environment:',
    `      DATABASE_URL: "${options.databaseUrl}"`,
    `      PORT: "${options.portBase}{{.Task.Slot}}"`,
    '      MARKER: "${MARKER:-none}"',
    '    networks: [hostnet]',
  ];
  if (options.crashOn) {
    lines.push(
      `    entrypoint: ["/bin/sh", "-c", "if [ \\"$$APP_VERSION\\" = ${options.crashOn} ]; then ${options.crashAfterSeconds ? `sleep ${options.crashAfterSeconds}; ` : ''}echo 'fatal: export worker cannot start' >&2; exit 3; fi; exec /usr/bin/node /app/index.js"]`,
    );
  }
  if (options.healthcheck ?? true) {
    lines.push(
      '    healthcheck:',
      '      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:$$PORT/health"]',
      '      interval: 1s',
      '      timeout: 3s',
      '      retries: 2',
      '      start_period: 10s',
    );
  }
  lines.push(
    '    deploy:',
    `      replicas: ${options.replicas ?? 1}`,
    '      restart_policy: { condition: any, delay: 1s }',
    `      update_config: { monitor: 1s, failure_action: ${options.failureAction ?? 'pause'} }`,
    '      rollback_config: { monitor: 1s }',
    '  worker:',
    `    image: ${demoImage('v1.2.0')}`,
    '    environment:',
    `      DATABASE_URL: "${options.databaseUrl}"`,
    `      PORT: "${options.workerPort}"`,
    '    networks: [hostnet]',
    'networks:',
    '  hostnet:',
    '    external: true',
    '    name: host',
    '',
  );
  return lines.join('\n');
}

export async function createSwarmStack(options: SwarmStackOptions): Promise<SwarmStack> {
  const name = testResourceName('stack');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redeploy-stack-'));
  const file = path.join(dir, 'stack.yml');
  const portBase = await freePortDecade();
  const workerPort = portBase * 10 + 9;
  writeFileSync(file, stackFileText({ ...options, portBase, workerPort }));
  const env = dockerEnv();
  const replicas = options.replicas ?? 1;
  const apiUrl = (slot = 1) => `http://127.0.0.1:${portBase}${slot}`;
  const full = (short: string) => `${name}_${short}`;
  const service = async (short: string) => {
    const [found] = await inspectServices(engineExecutor(), [full(short)]);
    if (!found) throw new Error(`no service ${full(short)}`);
    return found;
  };
  const tasks = async (short: string) => {
    const found = await service(short);
    return (await servicesWithTasks(engineExecutor(), [found.id])).tasks;
  };
  const current = async (short: string) => (await tasks(short)).filter((task) => task.desiredState === 'running');
  const health = async (slot = 1) => {
    const response = await fetch(`${apiUrl(slot)}/health`);
    return { status: response.status, version: ((await response.json()) as { version?: string }).version };
  };
  return {
    name,
    dir,
    file,
    apiUrl,
    workerUrl: `http://127.0.0.1:${workerPort}`,
    async deploy(tag, extraEnv = {}) {
      await runProcess('docker', ['stack', 'deploy', '-c', file, '--resolve-image', 'changed', '--detach=true', name], {
        cwd: dir,
        env: { ...env, IMAGE_TAG: tag, ...extraEnv },
      });
      await waitFor(
        `stack ${name} on ${tag}`,
        async () => {
          const api = await service('api');
          const running = (await current('api')).filter(
            (task) => task.state === 'running' && task.image.startsWith(demoImage(tag)),
          );
          const settled = !api.update || ['completed', 'rollback_completed'].includes(api.update.state);
          const worker = (await current('worker')).filter((task) => task.state === 'running');
          return running.length === replicas && settled && worker.length === 1 ? true : undefined;
        },
        90_000,
        250,
      );
    },
    service,
    tasks,
    current,
    health,
    async remove() {
      await runProcess('docker', ['stack', 'rm', name], { env, okExitCodes: [0, 1] });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

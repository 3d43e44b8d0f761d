import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, runProcess } from '../../../shared/process.js';
import { waitFor } from './free-port.js';

/**
 * A Docker-API container engine for tests: Docker when one answers, otherwise podman's API service
 * (`podman system service`) on a private socket, which the docker CLI and docker-compose talk to.
 */
export interface EngineService {
  /** Value for DOCKER_HOST, e.g. unix:///tmp/x/podman.sock. */
  dockerHost: string;
  kind: 'docker' | 'podman';
  stop(): Promise<void>;
}

async function dockerAnswers(dockerHost: string | undefined): Promise<boolean> {
  const result = await runProcess('docker', ['version', '--format', '{{.Server.Version}}'], {
    env: { DOCKER_HOST: dockerHost },
    okExitCodes: [0, 1],
    timeoutMs: 15_000,
  }).catch(() => undefined);
  return result?.exitCode === 0;
}

const CONTAINERS_CONF = `[containers]
# Default ulimits cannot be raised inside unprivileged sandboxes; leave the engine's own.
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
`;

/**
 * Podman leaves healthchecks to systemd timers, which do not run in containers or CI sandboxes.
 * This ticker is that timer: every interval it asks podman to run each container's own healthcheck,
 * so `State.Health` moves from "starting" to healthy/unhealthy as it would under systemd.
 */
function startHealthcheckTicker(env: Record<string, string>, intervalMs = 1000): () => void {
  let stopped = false;
  let running = false;
  const tick = async () => {
    if (stopped || running) return;
    running = true;
    try {
      const { stdout } = await runProcess('podman', ['ps', '--filter', 'status=running', '--format', '{{.ID}}\t{{.Status}}'], { env, timeoutMs: 10_000 });
      const withHealthcheck = stdout
        .split('\n')
        .filter((line) => /\((starting|healthy|unhealthy)\)/.test(line))
        .map((line) => line.split('\t')[0]);
      await Promise.all(withHealthcheck.map((id) => runProcess('podman', ['healthcheck', 'run', id], { env, okExitCodes: [0, 1, 125], timeoutMs: 30_000 }).catch(() => undefined)));
    } catch {
      // A container may vanish between ps and healthcheck; the next tick sees the new state.
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

export function podmanEnv(confDir: string): Record<string, string> {
  return { CONTAINERS_CONF: path.join(confDir, 'containers.conf') };
}

export async function startEngine(): Promise<EngineService> {
  if (!findExecutable('docker')) throw new Error('The docker CLI is not installed. Run scripts/setup-test-env.sh.');
  if (process.env.DOCKER_HOST) {
    if (!(await dockerAnswers(process.env.DOCKER_HOST))) throw new Error(`No container engine answers at DOCKER_HOST=${process.env.DOCKER_HOST}.`);
    return { dockerHost: process.env.DOCKER_HOST, kind: 'docker', stop: async () => undefined };
  }
  if (existsSync('/var/run/docker.sock') && (await dockerAnswers('unix:///var/run/docker.sock'))) {
    return { dockerHost: 'unix:///var/run/docker.sock', kind: 'docker', stop: async () => undefined };
  }
  if (!findExecutable('podman')) {
    throw new Error('No Docker engine answers and podman is not installed. Run scripts/setup-test-env.sh (installs podman, runc, docker-compose).');
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rollback-engine-'));
  writeFileSync(path.join(dir, 'containers.conf'), CONTAINERS_CONF);
  const socket = path.join(dir, 'podman.sock');
  const dockerHost = `unix://${socket}`;
  const env = podmanEnv(dir);
  const runtime = findExecutable('runc', ['/usr/sbin', '/usr/bin']) ?? 'runc';
  const log = openSync(path.join(dir, 'service.log'), 'a');
  const service: ChildProcess = spawn('podman', ['--runtime', runtime, 'system', 'service', '--time=0', dockerHost], {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  service.unref();
  await waitFor('the podman API service', async () => ((await dockerAnswers(dockerHost)) ? true : undefined), 30_000, 250);
  const stopTicker = startHealthcheckTicker(env);
  return {
    dockerHost,
    kind: 'podman',
    async stop() {
      stopTicker();
      if (service.pid) {
        try {
          process.kill(-service.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

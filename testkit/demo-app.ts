import { localEngineApi } from '../shared/engine/engine-api.js';
import type { HostExecutor } from '../shared/engine/executor.js';
import { runProcess } from '../shared/process.js';
import { freePort, waitFor } from './services/free-port.js';
import { serviceEnv, testResourceName } from './services/index.js';

/**
 * Runs one demo app container under the test engine (host networking: the sandboxed engines here
 * have no bridge network) and waits until it answers HTTP.
 */
export interface RunningDemoApp {
  containerId: string;
  name: string;
  baseUrl: string;
  port: number;
  remove(): Promise<void>;
}

export function dockerEnv(): Record<string, string> {
  return { DOCKER_HOST: serviceEnv('dockerHost') };
}

/** The shared engine code's view of the test engine: commands run here with DOCKER_HOST set to it. */
export function engineExecutor(): HostExecutor {
  return {
    description: 'the test engine',
    run: (command, args, options) =>
      runProcess(command, args, { ...options, env: { ...dockerEnv(), ...options?.env } }),
    engine: (env) => localEngineApi({ ...dockerEnv(), ...env }),
  };
}

export function demoImage(tag: string): string {
  return `${serviceEnv('demoImage')}:${tag}`;
}

export async function startDemoApp(
  tag: string,
  databaseUrl: string,
  options: { operatorToken?: string; port?: number } = {},
): Promise<RunningDemoApp> {
  const port = options.port ?? (await freePort());
  const name = testResourceName('app');
  const env = dockerEnv();
  const { stdout } = await runProcess(
    'docker',
    [
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'host',
      '-e',
      `DATABASE_URL=${databaseUrl}`,
      '-e',
      `PORT=${port}`,
      '-e',
      `OPERATOR_TOKEN=${options.operatorToken ?? ''}`,
      demoImage(tag),
    ],
    { env },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const remove = async () => {
    await runProcess('docker', ['rm', '-f', name], { env, okExitCodes: [0, 1] });
  };
  try {
    await waitFor(
      `${name} (${tag}) to answer HTTP`,
      async () => ((await fetch(`${baseUrl}/health`)).status > 0 ? true : undefined),
      30_000,
      100,
    );
  } catch (error) {
    const logs = await runProcess('docker', ['logs', name], { env, okExitCodes: [0, 1] });
    await remove();
    throw new Error(`${(error as Error).message}\ncontainer log:\n${logs.stdout}${logs.stderr}`, { cause: error });
  }
  return { containerId: stdout.trim(), name, baseUrl, port, remove };
}

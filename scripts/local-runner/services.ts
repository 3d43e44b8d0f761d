import { randomBytes } from 'node:crypto';
import { runProcess } from '../../shared/process.js';
import { freePort, waitFor } from '../../testkit/services/free-port.js';
import type { Contexts, Json, StatusFunctions } from './expressions.js';
import { interpolateString } from './expressions.js';

/**
 * A job's `services:` containers, run as GitHub runs them (before the first step, healthy before
 * the steps start, removed after the job), on this machine's engine with host networking: each
 * declared container port gets a free host port that the container listens on (PGPORT/PORT), and
 * `job.services.<id>.ports['<port>']` says which, exactly as on GitHub.
 */
export interface ServiceSpec {
  image: string;
  env?: Record<string, unknown>;
  ports?: (string | number)[];
  options?: string;
}

export interface RunningServices {
  context: Record<string, Json>;
  stop(): Promise<void>;
}

export async function startServices(
  services: Record<string, ServiceSpec>,
  contexts: Contexts,
  status: StatusFunctions,
  options: {
    env: Record<string, string>;
    serviceImages: Record<string, string>;
    asNamed: boolean;
    log: (line: string) => void;
  },
): Promise<RunningServices> {
  const started: string[] = [];
  const context: Record<string, Json> = {};
  const stop = async () => {
    if (started.length) await runProcess('docker', ['rm', '-f', ...started], { env: options.env, okExitCodes: [0, 1] });
  };
  try {
    for (const [id, spec] of Object.entries(services)) {
      const imageName = interpolateString(spec.image, contexts, status);
      const image = options.serviceImages[imageName.split(':')[0]] ?? (options.asNamed ? imageName : undefined);
      if (!image)
        throw new Error(
          `service ${id}: no local image for ${imageName} (known: ${Object.keys(options.serviceImages).join(', ')})`,
        );
      const ports: Record<string, string> = {};
      const args = ['run', '-d', '--network', 'host', '--name', `local-runner-${id}-${randomBytes(3).toString('hex')}`];
      for (const port of spec.ports ?? []) {
        const containerPort = String(port).split(':').at(-1)!;
        const hostPort = String(await freePort());
        ports[containerPort] = hostPort;
        // Host networking: the container listens on the host port itself.
        args.push('-e', `PGPORT=${hostPort}`, '-e', `PORT=${hostPort}`);
      }
      for (const [name, value] of Object.entries(spec.env ?? {}))
        args.push('-e', `${name}=${interpolateString(value, contexts, status)}`);
      if (spec.options) args.push(...interpolateString(spec.options, contexts, status).split(/\s+/).filter(Boolean));
      args.push(image);
      const { stdout } = await runProcess('docker', args, { env: options.env });
      const containerId = stdout.trim();
      started.push(containerId);
      options.log(`service ${id}: ${imageName} as ${image}, ports ${JSON.stringify(ports)}`);
      await waitFor(
        `service ${id} to be healthy`,
        async () => {
          const { stdout: health } = await runProcess(
            'docker',
            [
              'inspect',
              '--format',
              '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Running}}',
              containerId,
            ],
            { env: options.env },
          );
          const [state, running] = health.trim().split(' ');
          if (running !== 'true') throw new Error(`service ${id} exited`);
          return state === 'healthy' || state === 'none' ? true : undefined;
        },
        120_000,
        500,
      );
      context[id] = { id: containerId, network: 'host', ports };
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { context, stop };
}

import { runProcess } from '../../../shared/process.js';
import { SERVICE_ENV, startServices, testResourcePrefix, type TestServices } from './index.js';

let services: TestServices | undefined;

export async function setUp(): Promise<void> {
  services = await startServices((line) => process.stderr.write(`\n${line}\n`));
}

/** Removes containers this run left behind (named with its prefix, compose projects too), then stops the services. */
export async function tearDown(): Promise<void> {
  if (!services) return;
  const env = { DOCKER_HOST: process.env[SERVICE_ENV.dockerHost] };
  const prefix = testResourcePrefix();
  const { stdout } = await runProcess('docker', ['ps', '-a', '--format', '{{.ID}} {{.Names}}'], { env, okExitCodes: [0, 1] });
  const leftovers = stdout
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, name]) => name?.startsWith(prefix))
    .map(([id]) => id);
  if (leftovers.length > 0) await runProcess('docker', ['rm', '-f', ...leftovers], { env, okExitCodes: [0, 1] });
  await services.stop();
  services = undefined;
}

import { randomBytes } from 'node:crypto';
import { buildDemoImages, DEMO_IMAGE } from './demo-images.js';
import { startEngine, type EngineService } from './engine.js';
import { startPostgres, type PostgresService } from './postgres.js';

/**
 * Starts every real service the tests (and `npm run demo`) need, and says where they are through
 * environment variables that child processes inherit. A service that cannot start is an error,
 * never a skipped test.
 */
export const SERVICE_ENV = {
  pgAdminUrl: 'RA_TEST_PG_ADMIN_URL',
  pgBinDir: 'RA_TEST_PG_BIN_DIR',
  dockerHost: 'RA_TEST_DOCKER_HOST',
  demoImage: 'RA_TEST_DEMO_IMAGE',
  runId: 'RA_TEST_RUN_ID',
} as const;

export interface TestServices {
  postgres: PostgresService;
  engine: EngineService;
  stop(): Promise<void>;
}

export async function startServices(log: (line: string) => void = () => undefined): Promise<TestServices> {
  const started = Date.now();
  const [postgresStart, engineStart] = await Promise.allSettled([startPostgres(), startEngine()]);
  if (postgresStart.status === 'rejected' || engineStart.status === 'rejected') {
    // The one that did start must not outlive the run.
    if (postgresStart.status === 'fulfilled') await postgresStart.value.stop();
    if (engineStart.status === 'fulfilled') await engineStart.value.stop();
    throw postgresStart.status === 'rejected' ? postgresStart.reason : (engineStart as PromiseRejectedResult).reason;
  }
  const postgres = postgresStart.value;
  const engine = engineStart.value;
  try {
    const images = await buildDemoImages(engine.dockerHost);
    log(
      `test services: PostgreSQL ${postgres.dataDir ? 'throwaway cluster' : 'from DATABASE_URL'}, private Docker Engine at ${engine.dockerHost} (swarm manager on ${engine.swarm?.address}), ` +
        `demo images ${images.buildSeconds ? `built in ${images.buildSeconds.toFixed(1)}s` : 'up to date'} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
    );
  } catch (error) {
    await Promise.all([postgres.stop(), engine.stop()]);
    throw error;
  }
  process.env[SERVICE_ENV.pgAdminUrl] = postgres.adminUrl;
  process.env[SERVICE_ENV.pgBinDir] = postgres.binDir;
  process.env[SERVICE_ENV.dockerHost] = engine.dockerHost;
  process.env[SERVICE_ENV.demoImage] = DEMO_IMAGE;
  process.env[SERVICE_ENV.runId] = randomBytes(3).toString('hex');
  return {
    postgres,
    engine,
    async stop() {
      await Promise.all([postgres.stop(), engine.stop()]);
    },
  };
}

/** Reads a service location in a test; a missing one means the global setup did not run. */
export function serviceEnv(name: keyof typeof SERVICE_ENV): string {
  const value = process.env[SERVICE_ENV[name]];
  if (!value)
    throw new Error(
      `${SERVICE_ENV[name]} is not set: run the tests with "npm test" so the global setup starts the services.`,
    );
  return value;
}

/**
 * A name for a container, compose project, stack or other engine resource made by this test run:
 * "ratest-<run id>-<kind>-<random>", unique among the tests of the run, which share its engine.
 */
export function testResourceName(kind: string): string {
  return `ratest-${serviceEnv('runId')}-${kind.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${randomBytes(3).toString('hex')}`;
}

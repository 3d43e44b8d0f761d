import { startServices, type TestServices } from './index.js';

let services: TestServices | undefined;

export async function setUp(): Promise<void> {
  services = await startServices((line) => process.stderr.write(`\n${line}\n`));
}

/** Stops the services; the run's engine goes with everything the tests left in it. */
export async function tearDown(): Promise<void> {
  await services?.stop();
  services = undefined;
}

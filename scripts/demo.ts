/**
 * npm run demo: the whole rollback story on this machine (see scripts/demo/scenario.ts), with the
 * real services the tests use. Prints the workflows' progress, the timelines and the times from
 * failure detection to healthy; exits 1 unless the app ends healthy on the last good release with
 * its schema, smoke tests and backup checksum verified, and no job but the broken deploy failed.
 */
import { startServices } from '../testkit/services/index.js';
import { mainDemo } from './demo/main.js';

const services = await startServices((line) => console.log(line));
// The second stack (Alembic, date tags) more than doubles the demo: --one-stack leaves it out.
const apiStack = !process.argv.includes('--one-stack');
const { exitCode } = await mainDemo({ print: (line) => console.log(line), apiStack }).finally(() => services.stop());
process.exit(exitCode);

import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { adminUrl } from '../../testkit/database.js';
import { serviceEnv } from '../../testkit/services/index.js';

/**
 * A test run leaves nothing in the temporary directory. A run of real test files (steps through the
 * harness, TLS certificates made with openssl that the test never removes, the local runner cloning
 * repositories) is started by jest as `npm test` starts it, with an empty directory as TMPDIR
 * (reusing this run's PostgreSQL and engine); when it has ended, the directory must be empty.
 * Caches are not the run's: jest's lives in node_modules/.cache, tsx's is turned off here.
 */
describe('temporary files of a test run', () => {
  it('are all gone when the run ends', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'nested-test-run-'));
    // Merged over this worker's environment.
    const env: Record<string, string | undefined> = {
      TMPDIR: tmp,
      TSX_DISABLE_CACHE: '1',
      DATABASE_URL: adminUrl(),
      DOCKER_HOST: serviceEnv('dockerHost'),
      NODE_OPTIONS: '--experimental-vm-modules',
      NODE_NO_WARNINGS: '1',
      JEST_WORKER_ID: undefined,
    };
    const files = [
      '__tests__/foundation/harness.test.ts',
      '__tests__/smoke/tls-and-redirects.test.ts',
      '__tests__/release/release-workflow.test.ts',
    ];
    const run = await runProcess(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--runInBand', ...files],
      {
        cwd: REPO_ROOT,
        env,
        okExitCodes: [0, 1],
        timeoutMs: 900_000,
      },
    );
    expect({ exitCode: run.exitCode, tail: run.exitCode === 0 ? '' : run.stderr.slice(-3000) }).toEqual({
      exitCode: 0,
      tail: '',
    });
    expect(run.stderr).toMatch(/Tests: +\d+ passed, \d+ total/);
    expect(readdirSync(tmp)).toEqual([]);
  }, 900_000);
});

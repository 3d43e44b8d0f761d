import { runProcess } from '../shared/process.js';
import { runAction } from '../testkit/action-harness.js';
import { createTestDatabase } from '../testkit/database.js';
import { startDemoApp } from '../testkit/demo-app.js';
import { migrateDemoSchema } from '../testkit/demo-schema.js';
import { median, timed, type Benchmark } from './types.js';

/**
 * Checks per second of the smoke-test bundle, and the latency it adds per check over curl, on the
 * same endpoint in the same run: the demo app's /health (v1.2.0, real container). Both sides open a
 * new connection per request (curl is told "Connection: close"; the action never reuses sockets),
 * both run the checks one after another, and both are timed without process start-up (the action
 * by its duration-ms output, curl from the first request to the last inside one process). The
 * bundle's own start-up is reported separately.
 */
const CHECKS = 200;
const ROUNDS = 7;

function suiteOf(count: number): string {
  const lines = ['name: bench', 'checks:'];
  for (let index = 0; index < count; index++) {
    lines.push(
      `  - name: health ${index}`,
      '    url: /health',
      '    expect:',
      '      status: 200',
      '      json: { $.status: ok, $.version: v1.2.0 }',
    );
  }
  return `${lines.join('\n')}\n`;
}

const benchmark: Benchmark = {
  name: 'smoke',
  description: `smoke-test bundle running ${CHECKS} checks of /health (status + 2 JSONPath assertions) vs curl fetching the same URL ${CHECKS} times, median of ${ROUNDS} rounds`,
  async run(log) {
    const database = await createTestDatabase('benchsmoke');
    await migrateDemoSchema(database.url, 5);
    const app = await startDemoApp('v1.2.0', database.url);
    try {
      const url = `${app.baseUrl}/health`;
      const suite = suiteOf(CHECKS);
      // Warm both paths once (page cache, the app's JIT) so the first round is not an outlier.
      await runProcess('curl', ['-sS', '-o', '/dev/null', url]);
      await runAction('smoke-test', { inputs: { suite: suiteOf(5), 'base-url': app.baseUrl } });

      const curlMs: number[] = [];
      const actionMs: number[] = [];
      const actionStepMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // One curl process doing CHECKS transfers; summing time_total per transfer leaves out process start.
        const curl = await runProcess('curl', [
          '-sS',
          '--fail',
          '-H',
          'Connection: close',
          '-w',
          '%{time_total}\n',
          ...Array.from({ length: CHECKS }, () => ['-o', '/dev/null', url]).flat(),
        ]);
        const perRequest = curl.stdout.trim().split('\n').map(Number);
        if (perRequest.length !== CHECKS)
          throw new Error(`curl reported ${perRequest.length} transfers, expected ${CHECKS}`);
        curlMs.push(perRequest.reduce((sum, seconds) => sum + seconds * 1000, 0));

        const { ms: stepMs, value: result } = await timed(() =>
          runAction('smoke-test', { inputs: { suite, 'base-url': app.baseUrl } }),
        );
        if (result.exitCode !== 0 || result.outputs.attempts !== String(CHECKS))
          throw new Error(`smoke-test failed in the benchmark: ${result.errors.join('; ')}`);
        actionMs.push(Number(result.outputs['duration-ms']));
        actionStepMs.push(stepMs);
        log(
          `round ${round + 1}: curl ${curlMs[round].toFixed(0)} ms, smoke-test checks ${actionMs[round]} ms (whole step ${stepMs.toFixed(0)} ms)`,
        );
      }
      const curlPerCheck = median(curlMs) / CHECKS;
      const actionPerCheck = median(actionMs) / CHECKS;
      const added = actionPerCheck - curlPerCheck;
      const checksPerSecond = 1000 / actionPerCheck;
      const startupMs = median(actionStepMs) - median(actionMs);
      return {
        metrics: [
          { name: 'smoke-test checks per second', value: checksPerSecond, unit: 'checks/s' },
          { name: 'curl requests per second', value: 1000 / curlPerCheck, unit: 'req/s' },
          { name: 'smoke-test time per check', value: actionPerCheck, unit: 'ms' },
          { name: 'curl time per request', value: curlPerCheck, unit: 'ms' },
          { name: 'added latency per check', value: added, unit: 'ms' },
          { name: 'ratio smoke-test / curl', value: actionPerCheck / curlPerCheck, unit: 'x' },
          { name: 'best round: smoke-test time per check', value: Math.min(...actionMs) / CHECKS, unit: 'ms' },
          { name: 'best round: curl time per request', value: Math.min(...curlMs) / CHECKS, unit: 'ms' },
          { name: 'bundle start-up, validation and reports (per run)', value: startupMs, unit: 'ms' },
        ],
        targets: [
          {
            description: 'added latency per check over curl under 3 ms',
            met: added < 3,
            actual: `${added.toFixed(2)} ms`,
          },
          {
            description: 'at least 200 checks per second',
            met: checksPerSecond >= 200,
            actual: `${checksPerSecond.toFixed(0)} checks/s`,
          },
        ],
        notes: [
          'curl is timed by its own time_total per transfer (process start excluded); smoke-test by its duration-ms output (node start, suite validation and report writing excluded, shown separately).',
          `smoke-test per check = request + status/JSONPath assertions + logging; ${CHECKS} checks run sequentially, like curl's transfers.`,
          'Targets are judged on the medians; the best rounds show the floor when the machine is not shared.',
        ],
      };
    } finally {
      await app.remove();
      await database.drop();
    }
  },
};
export default benchmark;

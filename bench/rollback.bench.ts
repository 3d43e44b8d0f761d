import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDemo, type RollbackRecord } from '../scripts/demo/scenario.js';
import { median, type Benchmark } from './types.js';

/**
 * Time from failure detection to healthy, through the real workflows (the demo scenario on the
 * local runner), for both database paths, as the workflows themselves report it:
 *  - image-only: the failed v1.3.0 deploy's smoke test -> auto-rollback (decide) -> rollback.yml
 *    (plan; rollback: redeploy v1.2.0, smoke), the backup in a job alongside -> smoke passed;
 *  - down-migrations: "Run workflow" on the manual rollback to v1.1.0 (its plan job's first step) -> plan (with the down SQL)
 *    -> rollback: backup, stop the app, revert 0005 and 0004, redeploy, smoke -> smoke passed;
 *    plus the downtime (app stopped until v1.1.0 answered).
 * Every job waits a modelled start latency first, as on GitHub-hosted runners: 3 s, the median
 * queue time TimescaleDB measured for GitHub-hosted Linux x64 jobs (p90 377 s;
 * timescale/timescaledb#10197, July 2026). Images are local (no pulls). Target: under 60 s each.
 */
const ROUNDS = 2;
const TARGET_SECONDS = 60;
const JOB_START_LATENCY_MS = 3000;

function reported(record: RollbackRecord, what: 'reportedSeconds' | 'downtimeSeconds'): number {
  const value = Number(record[what]);
  if (record.outcome !== 'rolled-back' || !Number.isFinite(value) || record[what] === '')
    throw new Error(`rollback ended ${record.outcome} (${what}: "${record[what]}")`);
  return value;
}

/** How long the image-only rollback's backup took, next to (not before) the redeploy. */
function alongsideBackupSeconds(record: RollbackRecord): number {
  const backup = record.run.jobs.backup;
  if (backup?.result !== 'success') throw new Error(`the image-only rollback's backup job ended ${backup?.result}`);
  return backup.durationMs / 1000;
}

const benchmark: Benchmark = {
  name: 'rollback',
  description: `failure detection to healthy through the workflows (demo app), image-only and down-migrations paths, ${JOB_START_LATENCY_MS / 1000} s modelled start per job, median of ${ROUNDS} runs`,
  async run(log) {
    const imageOnly: number[] = [];
    const downMigrations: number[] = [];
    const downtime: number[] = [];
    const backupAlongside: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const result = await runDemo({
        root: mkdtempSync(path.join(os.tmpdir(), 'bench-rollback-')),
        log: () => undefined,
        manualRollbackTo: 'v1.1.0',
        jobStartLatencyMs: JOB_START_LATENCY_MS,
      });
      imageOnly.push(reported(result.automatic, 'reportedSeconds'));
      backupAlongside.push(alongsideBackupSeconds(result.automatic));
      downMigrations.push(reported(result.manual!, 'reportedSeconds'));
      downtime.push(reported(result.manual!, 'downtimeSeconds'));
      log(
        `round ${round}: image-only ${imageOnly.at(-1)} s (backup alongside ${backupAlongside.at(-1)!.toFixed(1)} s), down-migrations ${downMigrations.at(-1)} s (down ${downtime.at(-1)} s)`,
      );
    }
    const imageOnlyMedian = median(imageOnly);
    const downMedian = median(downMigrations);
    return {
      metrics: [
        { name: 'image-only: detection to healthy', value: imageOnlyMedian, unit: 's' },
        {
          name: 'image-only: backup taken alongside (off the path to healthy)',
          value: median(backupAlongside),
          unit: 's',
        },
        { name: 'down-migrations: detection to healthy', value: downMedian, unit: 's' },
        {
          name: 'down-migrations: downtime (app stopped until the target answered)',
          value: median(downtime),
          unit: 's',
        },
      ],
      targets: [
        {
          description: `image-only path under ${TARGET_SECONDS} s`,
          met: imageOnlyMedian < TARGET_SECONDS,
          actual: `${imageOnlyMedian.toFixed(1)} s`,
        },
        {
          description: `down-migrations path under ${TARGET_SECONDS} s`,
          met: downMedian < TARGET_SECONDS,
          actual: `${downMedian.toFixed(1)} s`,
        },
      ],
      notes: [
        "Detection: the failed deploy's own 'Failed' step right after its smoke test (image-only), or the first step of the manual rollback's plan job (down-migrations); healthy: the rollback's smoke test passed. The figures are the workflow's own (rollback-report).",
        `Each job that needs a runner first waits ${JOB_START_LATENCY_MS / 1000} s, the median GitHub-hosted queue time measured by TimescaleDB (timescale/timescaledb#10197: p50 3 s, p90 377 s); the image-only path starts 3 jobs before healthy (decide, plan, rollback), the down-migrations path 2 (plan, rollback). At the p90 each of them can wait minutes.`,
      ],
    };
  },
};
export default benchmark;

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDemo, type RollbackRecord } from '../scripts/demo/scenario.js';
import { median, type Benchmark } from './types.js';

/**
 * Time from failure detection to healthy, through the real workflows (the demo scenario on the
 * local runner), for both database paths:
 *  - image-only: the failed v1.3.0 deploy's smoke test ends -> auto-rollback -> rollback.yml
 *    (plan, backup, redeploy v1.2.0, smoke) -> smoke passed;
 *  - down-migrations: "Run workflow" on the manual rollback to v1.1.0 -> plan, backup, revert 0005
 *    and 0004, redeploy, smoke -> smoke passed.
 * Images are local (no pulls), as the target excludes them. Target: under 60 s each.
 */
const ROUNDS = 2;
const TARGET_SECONDS = 60;

function seconds(record: RollbackRecord): number {
  if (record.outcome !== 'rolled-back' || !Number.isFinite(record.detectionToHealthyMs)) throw new Error(`rollback ended ${record.outcome}`);
  return record.detectionToHealthyMs / 1000;
}

const benchmark: Benchmark = {
  name: 'rollback',
  description: `failure detection to healthy through the workflows (demo app), image-only and down-migrations paths, median of ${ROUNDS} runs`,
  async run(log) {
    const imageOnly: number[] = [];
    const downMigrations: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const result = await runDemo({ root: mkdtempSync(path.join(os.tmpdir(), 'bench-rollback-')), log: () => undefined, manualRollbackTo: 'v1.1.0' });
      imageOnly.push(seconds(result.automatic));
      downMigrations.push(seconds(result.manual!));
      log(`round ${round}: image-only ${imageOnly.at(-1)!.toFixed(1)} s, down-migrations ${downMigrations.at(-1)!.toFixed(1)} s`);
    }
    const imageOnlyMedian = median(imageOnly);
    const downMedian = median(downMigrations);
    return {
      metrics: [
        { name: 'image-only: detection to healthy', value: imageOnlyMedian, unit: 's' },
        { name: 'down-migrations: detection to healthy', value: downMedian, unit: 's' },
      ],
      targets: [
        { description: `image-only path under ${TARGET_SECONDS} s`, met: imageOnlyMedian < TARGET_SECONDS, actual: `${imageOnlyMedian.toFixed(1)} s` },
        { description: `down-migrations path under ${TARGET_SECONDS} s`, met: downMedian < TARGET_SECONDS, actual: `${downMedian.toFixed(1)} s` },
      ],
      notes: ['Detection: the end of the failed smoke step (image-only) or the button press (down-migrations); healthy: the rollback\'s smoke test passed. Each job starts its node processes afresh, as on a runner; runner queueing on GitHub comes on top.'],
    };
  },
};
export default benchmark;

/**
 * npm run demo: the whole rollback story on this machine (see scripts/demo/scenario.ts), with the
 * real services the tests use. Prints the workflows' progress, the failed deploy's timeline and
 * the time from failure detection to healthy; exits 1 unless the app ends healthy on the last
 * good release with its schema, smoke tests and backup checksum verified.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { startServices } from '../__tests__/support/services/index.js';
import { manualRollbackProblems, runDemo, type RollbackRecord } from './demo/scenario.js';

const services = await startServices((line) => console.log(line));
const failures: string[] = [];
try {
  const result = await runDemo({ root: mkdtempSync(path.join(os.tmpdir(), 'rollback-demo-')), log: (line) => console.log(line), manualRollbackTo: 'v1.1.0', drill: true });
  console.log('\n=== Timelines (seconds from the start of the failed deploy, then from the button press) ===');
  for (const line of result.timelines) console.log(line);
  console.log('\n=== Notifications sent to the webhook ===');
  for (const message of result.notifications) console.log(`  ${message}`);
  if (result.drill) {
    console.log('\n=== The monthly drill\'s test matrix ===');
    console.log(result.drill.jobs.report.summary.trim());
    if (result.drill.outputs.passed !== 'true') failures.push('the rollback drill failed');
  }
  console.log('\n=== Result ===');
  report('automatic rollback after the failed deploy of v1.3.0', result.automatic);
  failures.push(...check(result.automatic, 'v1.2.0', 5, 'image-only'));
  if (result.manual) {
    report('manual rollback to v1.1.0 (before the breaking rename)', result.manual);
    failures.push(...check(result.manual, 'v1.1.0', 3, 'down-migrations'), ...manualRollbackProblems(result.manual));
  }
} finally {
  await services.stop();
}

function report(title: string, rollback: RollbackRecord): void {
  const { backup, state } = rollback;
  console.log(`  ${title}:`);
  console.log(`    plan:                ${rollback.plan.verdict}`);
  for (const migration of rollback.plan.migrations) {
    const findings = migration.revertWarnings.map((warning) => `${warning.kind}: ${warning.message}`);
    console.log(`    plan migration:      ${migration.version} ${migration.name} (${[migration.class, ...(migration.inCurrentRelease ? [] : ['not in the release rolled back from']), ...findings].join('; ')})`);
  }
  console.log(`    plan digest:         ${rollback.plan.digest}${rollback.applied ? ` (apply-down-migrations ran ${rollback.applied.digest === rollback.plan.digest ? 'the same' : rollback.applied.digest})` : ''}`);
  if (rollback.applied) console.log(`    schema:              ${rollback.applied.initialVersion} → ${rollback.applied.finalVersion} (apply-down-migrations' own); report: ${rollback.reportDatabaseRow}`);
  console.log(`    strategy:            ${rollback.strategy}`);
  console.log(`    running:             ${state.runningTag}; /health ${state.healthStatus} ${state.healthVersion}; schema version ${state.schemaVersion}`);
  console.log(`    backup artifact:     ${backup.artifactName} sha256 ${backup.checksum} (${backup.checksum === backup.artifactChecksum ? 'verified against the uploaded artifact' : `MISMATCH: artifact holds ${backup.artifactChecksum}`})`);
  console.log(`    detection → healthy: ${(rollback.detectionToHealthyMs / 1000).toFixed(1)} s (the workflow's own figure: ${rollback.reportedSeconds} s)`);
}

function check(rollback: RollbackRecord, tag: string, schema: number, strategy: string): string[] {
  const problems: string[] = [];
  if (rollback.strategy !== strategy) problems.push(`strategy ${rollback.strategy}, not ${strategy}`);
  if (rollback.outcome !== 'rolled-back') problems.push(`rollback to ${tag}: outcome ${rollback.outcome}`);
  if (rollback.state.runningTag !== tag) problems.push(`running ${rollback.state.runningTag}, not ${tag}`);
  if (rollback.state.healthVersion !== tag || rollback.state.healthStatus !== 200) problems.push(`/health answers ${rollback.state.healthStatus} ${rollback.state.healthVersion}`);
  if (rollback.state.schemaVersion !== schema) problems.push(`schema version ${rollback.state.schemaVersion}, not ${schema}`);
  if (!rollback.backup.checksum || rollback.backup.checksum !== rollback.backup.artifactChecksum) problems.push('backup checksum not verified');
  return problems;
}

if (failures.length > 0) {
  console.error(`\nnpm run demo: FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('\nnpm run demo: the service is healthy on the last good release.');

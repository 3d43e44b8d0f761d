import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  apiStackProblems,
  BROKEN_TAG,
  GOOD_TAG,
  MIGRATE_COMMAND,
  runApiStack,
  type ApiStackResult,
} from './alembic-stack.js';
import {
  failedJobs,
  manualRollbackProblems,
  runDemo,
  type DemoResult,
  type DemoWorld,
  step,
  type RollbackRecord,
  type StoryRun,
} from './scenario.js';

/**
 * `npm run demo` without the process around it: plays the story, prints the timelines, the
 * notifications, the drill's matrix and the result, and returns the exit code. Anything that went
 * wrong makes it 1, and it says what: a rollback that did not end where it should, a backup whose
 * checksum does not match its artifact, or any job that failed or was cancelled other than the
 * deliberately broken deploy (listed by workflow and job).
 */
export interface DemoMainOptions {
  print: (line: string) => void;
  /** Changes to the world before the story (a test makes the drill's upload fail). */
  prepare?: (world: DemoWorld) => void;
  /** The manual rollback's target; empty leaves it out (a shorter story for tests). Default v1.1.0. */
  manualRollbackTo?: string;
  /** Also play the second stack (API and jobs, Alembic, date tags); `npm run demo` does, unless `-- --one-stack`. Default false here. */
  apiStack?: boolean;
}

function report(print: (line: string) => void, title: string, rollback: RollbackRecord): void {
  const { backup, state } = rollback;
  print(`  ${title}:`);
  print(`    plan:                ${rollback.plan.verdict}`);
  for (const migration of rollback.plan.migrations) {
    const findings = migration.revertWarnings.map((warning) => `${warning.kind}: ${warning.message}`);
    print(
      `    plan migration:      ${migration.version} ${migration.name} (${[migration.class, ...(migration.inCurrentRelease ? [] : ['not in the release rolled back from']), ...findings].join('; ')})`,
    );
  }
  print(
    `    plan digest:         ${rollback.plan.digest}${rollback.applied ? ` (apply-down-migrations ran ${rollback.applied.digest === rollback.plan.digest ? 'the same' : rollback.applied.digest})` : ''}`,
  );
  if (rollback.applied)
    print(
      `    schema:              ${rollback.applied.initialVersion} → ${rollback.applied.finalVersion} (apply-down-migrations' own); report: ${rollback.reportDatabaseRow}`,
    );
  print(`    strategy:            ${rollback.strategy}`);
  print(
    `    running:             ${state.runningTag}; /health ${state.healthStatus} ${state.healthVersion}; schema version ${state.schemaVersion}`,
  );
  print(
    `    backup artifact:     ${backup.artifactName} sha256 ${backup.checksum} (${backup.checksum === backup.artifactChecksum ? 'verified against the uploaded artifact' : `MISMATCH: artifact holds ${backup.artifactChecksum}`})`,
  );
  print(
    `    detection → healthy: ${(rollback.detectionToHealthyMs / 1000).toFixed(1)} s (the workflow's own figure: ${rollback.reportedSeconds} s)`,
  );
  if (rollback.downtimeSeconds)
    print(`    downtime:            ${rollback.downtimeSeconds} s (the app stopped while the database was reverted)`);
}

function check(rollback: RollbackRecord, tag: string, schema: number, strategy: string): string[] {
  const problems: string[] = [];
  if (rollback.strategy !== strategy) problems.push(`strategy ${rollback.strategy}, not ${strategy}`);
  if (rollback.outcome !== 'rolled-back') problems.push(`rollback to ${tag}: outcome ${rollback.outcome}`);
  if (rollback.state.runningTag !== tag) problems.push(`running ${rollback.state.runningTag}, not ${tag}`);
  if (rollback.state.healthVersion !== tag || rollback.state.healthStatus !== 200)
    problems.push(`/health answers ${rollback.state.healthStatus} ${rollback.state.healthVersion}`);
  if (rollback.state.schemaVersion !== schema)
    problems.push(`schema version ${rollback.state.schemaVersion}, not ${schema}`);
  if (!rollback.backup.checksum || rollback.backup.checksum !== rollback.backup.artifactChecksum)
    problems.push('backup checksum not verified');
  return problems;
}

function reportApiStack(print: (line: string) => void, stack: ApiStackResult): void {
  const { state, rollback } = stack;
  const down = step(rollback.jobs.rollback, 'Revert migrations');
  print(`  automatic rollback of the API stack after the failed deploy of ${BROKEN_TAG}:`);
  print(`    plan:                ${rollback.jobs.plan.outputs.verdict ?? ''}`);
  print(`    strategy:            ${rollback.outputs.strategy ?? ''} → ${rollback.outputs['target-tag'] ?? ''}`);
  if (down?.outcome === 'success')
    print(
      `    alembic:             ${down.outputs['initial-version']} → ${down.outputs['final-version']} (${MIGRATE_COMMAND} downgrade, in the ${BROKEN_TAG} image)`,
    );
  print(
    `    running:             api ${state.runningTags.api ?? 'nothing'}, jobs ${state.runningTags.jobs ?? 'nothing'}; alembic_version ${state.alembicVersion.join(',') || 'none'}`,
  );
  print(
    `    probes:              api /healthz ${state.healthz.status} ${state.healthz.version}, /readyz ${state.readyz.status}; jobs /readyz ${state.jobsReadyz.status}`,
  );
  print(
    `    detection → healthy: ${(stack.detectionToHealthyMs / 1000).toFixed(1)} s; the whole stack's story ${stack.seconds.toFixed(0)} s`,
  );
}

/** Jobs that failed although the story expects them to pass (every job but the broken deploys'). */
export function unexpectedFailures(result: { runs: StoryRun[] }): string[] {
  return result.runs.flatMap(({ label, run, expectedFailures }) =>
    failedJobs(run)
      .filter((job) => !expectedFailures.includes(job))
      .map((job) => `${label}: ${job}`),
  );
}

export async function mainDemo(
  options: DemoMainOptions,
): Promise<{ exitCode: number; failures: string[]; result: DemoResult; apiStack?: ApiStackResult }> {
  const { print } = options;
  const result = await runDemo({
    root: mkdtempSync(path.join(os.tmpdir(), 'rollback-demo-')),
    log: print,
    manualRollbackTo: options.manualRollbackTo ?? 'v1.1.0',
    drill: true,
    prepare: options.prepare,
  });
  const failures: string[] = [];
  let apiStack: ApiStackResult | undefined;
  if (options.apiStack ?? false) {
    print(
      `\n=== The second stack: API and jobs services, Alembic inside the image, date tags (${GOOD_TAG}, ${BROKEN_TAG}) ===`,
    );
    try {
      apiStack = await runApiStack({ root: mkdtempSync(path.join(os.tmpdir(), 'rollback-demo-api-')), log: print });
    } catch (error) {
      failures.push(`the API stack's story failed: ${(error as Error).message}`);
    }
  }
  print('\n=== Timelines (seconds from the start of the failed deploy, then from the button press) ===');
  for (const line of result.timelines) print(line);
  print('\n=== Notifications sent to the webhook ===');
  for (const message of result.notifications) print(`  ${message}`);
  if (result.drill) {
    print("\n=== The monthly drill's test matrix ===");
    print(result.drill.jobs.report.summary.trim());
    if (result.drill.outputs.passed !== 'true') failures.push('the rollback drill failed');
  }
  print('\n=== Result ===');
  report(print, 'automatic rollback after the failed deploy of v1.3.0', result.automatic);
  failures.push(...check(result.automatic, 'v1.2.0', 5, 'image-only'));
  if (result.manual) {
    report(print, 'manual rollback to v1.1.0 (before the breaking rename)', result.manual);
    failures.push(...check(result.manual, 'v1.1.0', 3, 'down-migrations'), ...manualRollbackProblems(result.manual));
  }
  if (apiStack) {
    reportApiStack(print, apiStack);
    failures.push(...apiStackProblems(apiStack));
  }
  const unexpected = unexpectedFailures({ runs: [...result.runs, ...(apiStack?.runs ?? [])] });
  if (unexpected.length > 0) {
    print(`\n=== Jobs that failed (only the broken deploys of v1.3.0 and ${BROKEN_TAG} may) ===`);
    for (const job of unexpected) print(`  ✗ ${job}`);
    failures.push(`${unexpected.length} job(s) failed: ${unexpected.join('; ')}`);
  }
  if (failures.length > 0) {
    print(`\nnpm run demo: FAILED: ${failures.join('; ')}`);
    return { exitCode: 1, failures, result, apiStack };
  }
  print(
    `\nnpm run demo: ${apiStack ? 'both stacks are' : 'the service is'} healthy on the last good release, and no job failed but the broken deploy${apiStack ? 's' : ''}.`,
  );
  return { exitCode: 0, failures, result, apiStack };
}

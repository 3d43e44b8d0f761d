import { codeBlock, details, markdownTable } from '../summary.js';
import { formatBytes } from '../backup/progress.js';
import { JobResults, seconds, secondsBetween } from './jobs.js';

/** A size output (bytes, as text) for a reader: "1.2 MB", or "size unknown". */
const humanSize = (bytes: string | undefined) =>
  bytes && /^\d+$/.test(bytes) ? formatBytes(Number(bytes)) : 'size unknown';

/**
 * The rollback's timeline and incident record, from the jobs of rollback.yml (plan, backup,
 * rollback): what was decided, what ran and how long each stage took, how long the app was down
 * (services stopped for a database change until the target answered) and the time from detection
 * to healthy. The outcome is decided here, once, for the workflow's output, the summary and the
 * notification.
 */
export type RollbackOutcome = 'rolled-back' | 'failed' | 'cancelled' | 'nothing-to-do' | 'dry-run';

export interface ReportFacts {
  environment: string;
  reason?: string;
  dryRun: boolean;
  runUrl?: string;
  results: JobResults;
}

export interface RollbackReport {
  outcome: RollbackOutcome;
  headline: string;
  /** The job summary: headline, verdict, timeline, times, incident record. */
  markdown: string;
  /** Plain text to paste into the incident document. */
  incidentRecord: string;
  /** One line for the webhook. */
  message: string;
  detectionToHealthySeconds?: number;
  downtimeSeconds?: number;
}

interface Stage {
  stage: string;
  result: string;
  durationMs?: number;
  details: string;
}

function outcomeOf(facts: ReportFacts): RollbackOutcome {
  const { results } = facts;
  if (facts.dryRun) return 'dry-run';
  if (results.result('plan') === 'success' && results.output('plan', 'nothing-to-roll-back') === 'true')
    return 'nothing-to-do';
  if (results.result('rollback') === 'success' && results.output('rollback', 'smoke-passed') === 'true')
    return 'rolled-back';
  if ([results.result('plan'), results.result('rollback'), results.result('backup')].includes('cancelled'))
    return 'cancelled';
  return 'failed';
}

function backupStage(results: JobResults, strategy: string | undefined): Stage {
  // Image-only rollbacks take theirs alongside, in the backup job; the others before the change, in the rollback job.
  if (strategy === 'image-only') {
    const result = results.result('backup');
    const point = restorePointText(results, 'backup');
    if (point)
      return {
        stage: 'Backup (alongside)',
        result,
        durationMs: results.milliseconds('backup', 'duration-ms'),
        details: point,
      };
    const artifact = results.output('backup', 'artifact-name');
    const checksum = results.output('backup', 'checksum');
    return {
      stage: 'Backup (alongside)',
      result,
      durationMs: results.milliseconds('backup', 'duration-ms'),
      details:
        result === 'skipped'
          ? 'not taken (image-only-backup: skip, or nothing to do)'
          : `${artifact ?? '–'}${checksum ? ` (sha256 \`${checksum}\`, ${humanSize(results.output('backup', 'size'))})` : ''}`,
    };
  }
  const point = restorePointText(results, 'rollback');
  if (point)
    return {
      stage: 'Backup (before the change)',
      result: 'success',
      durationMs: results.milliseconds('rollback', 'backup-duration-ms'),
      details: point,
    };
  const artifact = results.output('rollback', 'backup-artifact');
  const checksum = results.output('rollback', 'backup-checksum');
  return {
    stage: 'Backup (before the change)',
    result: artifact ? 'success' : results.result('rollback'),
    durationMs: results.milliseconds('rollback', 'backup-duration-ms'),
    details: `${artifact ?? '–'}${checksum ? ` (sha256 \`${checksum}\`, ${humanSize(results.output('rollback', 'backup-size'))})` : ''}`,
  };
}

/** backup-method pgbackrest: the restore point a job took (its WAL proven archived), if it took one. */
function restorePointText(results: JobResults, job: string): string | undefined {
  const name = results.output(job, 'restore-point');
  return name ? `restore point \`${name}\` at LSN ${results.output(job, 'restore-point-lsn') ?? '?'}` : undefined;
}

/** The versions the executing action read before and after, never the plan's figures. */
function schemaChange(results: JobResults): string {
  return `schema ${results.output('rollback', 'initial-schema-version') ?? '?'} → ${results.output('rollback', 'final-schema-version') ?? '?'}`;
}

function databaseStage(
  results: JobResults,
  strategy: string | undefined,
  environment: string,
): { stage: Stage; text: string } {
  if (strategy === 'down-migrations') {
    const reverted = results.json<{ version: string; name: string }[]>('rollback', 'reverted') ?? [];
    const list =
      reverted.length > 0 ? reverted.map((migration) => `${migration.version} ${migration.name}`).join(', ') : 'none';
    const text = `reverted: ${list} (${schemaChange(results)})`;
    return {
      stage: {
        stage: 'Database',
        result: results.output('rollback', 'down-outcome') ?? results.result('rollback'),
        durationMs: results.milliseconds('rollback', 'down-duration-ms'),
        details: text,
      },
      text,
    };
  }
  if (strategy === 'restore-backup') {
    const recoveryTarget = results.output('rollback', 'recovery-target');
    const safetyPoint = results.output('rollback', 'safety-restore-point');
    const text = recoveryTarget
      ? `recovered in place to ${recoveryTarget} (${schemaChange(results)})${safetyPoint ? `; the state before it: restore point \`${safetyPoint}\`` : ''}`
      : `restored the latest pre-deploy backup of ${environment} (${schemaChange(results)})`;
    return {
      stage: {
        stage: 'Database',
        result: results.output('rollback', 'restore-outcome') ?? results.result('rollback'),
        durationMs: results.milliseconds('rollback', 'restore-duration-ms'),
        details: text,
      },
      text,
    };
  }
  return {
    stage: { stage: 'Database', result: 'skipped', details: 'not needed (image-only)' },
    text: 'not needed (image-only)',
  };
}

function smokeText(results: JobResults): string {
  const checks = results.json<{ passed: boolean }[]>('rollback', 'smoke-checks');
  return checks ? `${checks.filter((check) => check.passed).length} of ${checks.length} checks passed` : '–';
}

function clock(iso: string | undefined): string {
  return iso ? iso.replace(/^.*T/, '').replace(/Z$/, ' UTC') : '?';
}

export function rollbackReport(facts: ReportFacts): RollbackReport {
  const { results, environment } = facts;
  const outcome = outcomeOf(facts);
  const current = results.output('plan', 'current-tag');
  const target = results.output('plan', 'target-tag');
  const strategy = results.output('plan', 'strategy');
  const detectedAt = results.output('plan', 'detected-at');
  const healthyAt = results.output('rollback', 'healthy-at');
  const stoppedAt = results.output('rollback', 'stopped-at');
  // The app is back when the redeployed services answer, or when the stopped ones were started again after a failure.
  const backAt = results.output('rollback', 'up-at') ?? results.output('rollback', 'restarted-at');
  const detectionToHealthy = outcome === 'rolled-back' ? secondsBetween(detectedAt, healthyAt) : undefined;
  const downtime = stoppedAt ? secondsBetween(stoppedAt, backAt) : undefined;

  const headline = {
    'rolled-back': `✅ ${environment} rolled back from ${current} to ${target}`,
    'nothing-to-do': `ℹ️ ${environment}: nothing to roll back (${target ?? 'the target'} is already running)`,
    'dry-run': `📝 Dry run: ${environment} would roll back from ${current ?? '?'} to ${target ?? '?'} (${strategy ?? '?'})`,
    cancelled: `⏹️ Rollback of ${environment} was cancelled (plan: ${results.result('plan')}, rollback: ${results.result('rollback')})`,
    failed: `❌ Rollback of ${environment} failed (plan: ${results.result('plan')}, backup: ${results.result('backup')}, rollback: ${results.result('rollback')})`,
  }[outcome];

  const database = databaseStage(results, strategy, environment);
  const stages: Stage[] = [
    {
      stage: 'Plan',
      result: results.result('plan'),
      details: `${current ?? '?'} → ${target ?? '?'}, strategy ${strategy ?? '?'}`,
    },
  ];
  if (outcome !== 'nothing-to-do' && outcome !== 'dry-run') {
    stages.push(backupStage(results, strategy));
    if (stoppedAt)
      stages.push({
        stage: 'Services stopped',
        result: 'success',
        details: `at ${clock(stoppedAt)}: no writes during the database change (the database kept running)`,
      });
    stages.push(database.stage);
    stages.push({
      stage: 'Redeploy',
      result: results.output('rollback', 'redeploy-outcome') ?? '–',
      durationMs: results.milliseconds('rollback', 'redeploy-duration-ms'),
      details: `running ${results.output('rollback', 'running-tag') ?? '?'}${results.output('rollback', 'deployment-id') ? `, deployment ${results.output('rollback', 'deployment-id')}` : ''}`,
    });
    const smoke = results.output('rollback', 'smoke-passed');
    stages.push({
      stage: 'Smoke test',
      result: smoke === undefined ? '–' : smoke === 'true' ? 'passed' : 'failed',
      durationMs: results.milliseconds('rollback', 'smoke-duration-ms'),
      details: smokeText(results),
    });
  }

  const times: string[] = [];
  if (detectionToHealthy !== undefined)
    times.push(`**Detection to healthy: ${detectionToHealthy} s** (detected ${detectedAt}, healthy ${healthyAt})`);
  if (downtime !== undefined)
    times.push(`**Downtime: ${downtime} s** (services stopped ${clock(stoppedAt)}, answering again ${clock(backAt)})`);
  else if (stoppedAt)
    times.push(
      `**Downtime: still down** (services stopped ${clock(stoppedAt)} and not started again: start them by hand)`,
    );

  const incidentRecord = [
    `Rollback of ${environment}: ${outcome}`,
    `Reason:      ${facts.reason || 'not given'}`,
    `Detected:    ${detectedAt ?? '?'}`,
    `Started:     ${results.output('plan', 'started-at') ?? '?'}`,
    `Healthy:     ${healthyAt ?? 'not reached'}${detectionToHealthy !== undefined ? ` (${detectionToHealthy} s after detection)` : ''}`,
    `Downtime:    ${downtime !== undefined ? `${downtime} s (services stopped for the database change)` : stoppedAt ? 'ongoing' : 'none planned'}`,
    `From → to:   ${current ?? '?'} → ${target ?? '?'}`,
    `Strategy:    ${strategy ?? '?'}`,
    `Database:    ${outcome === 'nothing-to-do' ? 'unchanged' : database.text}`,
    `Backup:      ${results.output('rollback', 'backup-artifact') ?? results.output('backup', 'artifact-name') ?? restorePointText(results, 'rollback') ?? restorePointText(results, 'backup') ?? 'none'}`,
    `Smoke test:  ${smokeText(results)}`,
    `Run:         ${facts.runUrl ?? '?'}`,
  ].join('\n');

  const verdict = results.output('plan', 'verdict');
  const markdown = [
    `## ${headline}\n`,
    verdict ? `> ${verdict}\n` : '',
    markdownTable(
      ['Stage', 'Result', 'Duration', 'Details'],
      stages.map((stage) => [stage.stage, stage.result, seconds(stage.durationMs), stage.details]),
    ),
    times.length > 0 ? `\n${times.join('\n\n')}\n` : '',
    `\n${details('Incident record (paste into the incident document)', codeBlock(incidentRecord, 'text'))}`,
  ].join('\n');

  const timing =
    detectionToHealthy !== undefined
      ? ` in ${detectionToHealthy} s from detection${downtime !== undefined ? `, ${downtime} s down` : ''}`
      : '';
  const message = `${headline}${timing}. ${facts.reason ?? ''}`.replace(/\s+/g, ' ').trim();
  return {
    outcome,
    headline,
    markdown,
    incidentRecord,
    message,
    detectionToHealthySeconds: detectionToHealthy,
    downtimeSeconds: downtime,
  };
}

import { formatDuration } from '../duration.js';
import { cell } from '../summary.js';
import { JobResults, outcomeWord } from './jobs.js';

/**
 * The rollback drill's test matrix (the runbook's table: scenario, last tested, result, duration,
 * details), built from the outputs of rollback-drill.yml's jobs: database (restore, revert,
 * re-apply), image (is the last known good image still there) and staging (redeploy there and back).
 */
export interface DrillRow {
  scenario: string;
  result: 'passed' | 'failed' | 'not run';
  'duration-s': number | null;
  details: string;
  'last-tested': string;
  /** The restore's recovery time (RTO): from its start until the restored database answered. */
  'rto-s'?: number;
  /** The recovery point (RPO): how old the newest restorable state was when the restore started. */
  'rpo-s'?: number;
}

/** The recovery objectives the caller sets (rto-target, rpo-target), in milliseconds. */
export interface RecoveryTargets {
  rtoMs?: number;
  rpoMs?: number;
}

export interface DrillMatrix {
  rows: DrillRow[];
  passed: boolean;
}

type Row = Omit<DrillRow, 'last-tested'>;

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function row(scenario: string, result: DrillRow['result'], durationMs: number | undefined, details = ''): Row {
  return { scenario, result, 'duration-s': durationMs === undefined ? null : seconds(durationMs), details };
}

/**
 * RTO and RPO of the drill's restore: the restore's own duration (restore-db's restore-duration-ms,
 * else its duration-ms), and the age of the newest restorable state (restore-db's
 * newest-restorable-at) when the restore started.
 */
function recoveryMeasures(results: JobResults): { rtoMs?: number; rpoMs?: number } {
  const rtoMs = results.milliseconds('database', 'restore-duration-ms');
  const newest = Date.parse(results.output('database', 'newest-restorable-at') ?? '');
  const started = Date.parse(results.output('database', 'restore-started-at') ?? '');
  return {
    rtoMs,
    rpoMs: Number.isFinite(newest) && Number.isFinite(started) ? Math.max(0, started - newest) : undefined,
  };
}

function restoreRow(results: JobResults): Row {
  const out = (name: string) => results.output('database', name);
  const { rtoMs, rpoMs } = recoveryMeasures(results);
  const measured = {
    ...(rtoMs === undefined ? {} : { 'rto-s': seconds(rtoMs) }),
    ...(rpoMs === undefined ? {} : { 'rpo-s': seconds(rpoMs) }),
  };
  if (out('restore-method') === 'pgbackrest') {
    const details = out('recovery-target')
      ? `recovered to ${out('recovery-target')}`
      : `backup ${out('backup-label') ?? '?'}`;
    return {
      ...row(
        'Restore the pgBackRest backup into a side cluster (PITR)',
        outcomeWord(out('restore-outcome')),
        rtoMs,
        details,
      ),
      ...measured,
    };
  }
  return {
    ...row(
      'Restore the latest backup',
      outcomeWord(out('restore-outcome')),
      rtoMs,
      `sha256 ${out('restore-checksum') ?? '?'}`,
    ),
    ...measured,
  };
}

/** A row per target the caller set: the measure against it (a missed target fails the drill). */
function objectiveRows(results: JobResults, targets: RecoveryTargets): Row[] {
  const measures = recoveryMeasures(results);
  const objectives = [
    {
      name: 'Recovery time (RTO)',
      measured: measures.rtoMs,
      target: targets.rtoMs,
      describe: (ms: number) => `the restore took ${formatDuration(ms)}`,
    },
    {
      name: 'Recovery point (RPO)',
      measured: measures.rpoMs,
      target: targets.rpoMs,
      describe: (ms: number) => `the newest restorable state was ${formatDuration(ms)} old`,
    },
  ];
  return objectives.flatMap(({ name, measured, target, describe }) => {
    if (target === undefined) return [];
    const scenario = `${name} within ${formatDuration(target)}`;
    if (measured === undefined)
      return [row(scenario, 'failed', undefined, 'not measured: the restore did not report it')];
    return [
      row(
        scenario,
        measured <= target ? 'passed' : 'failed',
        measured,
        `${describe(measured)}; target ${formatDuration(target)}`,
      ),
    ];
  });
}

function databaseRows(results: JobResults): Row[] {
  const out = (name: string) => results.output('database', name);
  const current = out('current-tag');
  const target = out('target-tag');
  if (!target) return [];
  const reverted = results.json<{ version: string }[]>('database', 'reverted');
  const downOutcome = out('down-outcome');
  const verified = out('down-verified') === 'true' ? 'passed' : downOutcome === 'success' ? 'failed' : 'not run';
  // The ups come back only if the app's own migrate command ran and the schema then equals the one restored.
  const upOutcome = out('up-outcome');
  const schemaOutcome = out('schema-outcome');
  const up =
    upOutcome === 'success' && schemaOutcome === 'success'
      ? 'passed'
      : [upOutcome, schemaOutcome].some((outcome) => outcome === 'failure')
        ? 'failed'
        : 'not run';
  const differences = results.json<{ onlyInFirst: string[]; onlyInSecond: string[] }>('database', 'schema-differences');
  const upDetails =
    differences && (differences.onlyInFirst.length > 0 || differences.onlyInSecond.length > 0)
      ? `restored but not re-created: ${differences.onlyInFirst.length}; re-created but not restored: ${differences.onlyInSecond.length} (first: ${(differences.onlyInFirst[0] ?? differences.onlyInSecond[0]).slice(0, 120)})`
      : upOutcome === 'failure'
        ? 'the migrate-up command failed'
        : '';
  return [
    restoreRow(results),
    row(
      `Down migrations ${current} → ${target}`,
      outcomeWord(downOutcome),
      results.milliseconds('database', 'down-duration-ms'),
      `reverted: ${reverted && reverted.length > 0 ? reverted.map((migration) => migration.version).join(', ') : 'nothing to revert'}`,
    ),
    row(`Schema after down equals a fresh migrate-up to ${target}`, verified, undefined),
    row('Ups re-applied: schema as restored', up, results.milliseconds('database', 'up-duration-ms'), upDetails),
  ];
}

function imageRows(results: JobResults): Row[] {
  const state = results.output('image', 'result');
  if (!state) return [];
  const image = results.output('image', 'image') ?? '?';
  const word: DrillRow['result'] =
    state === 'present' || state === 'pullable' ? 'passed' : state === 'missing' ? 'failed' : 'not run';
  return [row(`Image ${image} available on the target`, word, undefined, results.output('image', 'details'))];
}

function stagingRows(results: JobResults): Row[] {
  if (results.result('staging') === 'skipped') return [];
  const out = (name: string) => results.output('staging', name);
  const ms = (name: string) => results.milliseconds('staging', name);
  const target = out('target-tag') ?? results.output('database', 'target-tag');
  const current = out('current-tag') ?? results.output('database', 'current-tag');
  return [
    row(`Staging redeployed to ${target}`, outcomeWord(out('back-outcome')), ms('back-ms')),
    row(`Staging smoke test on ${target}`, outcomeWord(out('smoke-back-outcome')), ms('smoke-back-ms')),
    row(`Staging redeployed to ${current} again`, outcomeWord(out('forward-outcome')), ms('forward-ms')),
    row(`Staging smoke test on ${current}`, outcomeWord(out('smoke-forward-outcome')), ms('smoke-forward-ms')),
  ];
}

export function drillMatrix(results: JobResults, now: Date, targets: RecoveryTargets = {}): DrillMatrix {
  const lastTested = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const database = databaseRows(results);
  let rows: Row[] = [
    ...database,
    ...(database.length > 0 ? objectiveRows(results, targets) : []),
    ...imageRows(results),
    ...stagingRows(results),
  ];
  if (rows.length === 0) {
    // The database job failed before it could say what a rollback would do today (no deployments, no backup...).
    rows = [row('Drill set-up (target, backup)', 'failed', undefined, `database job: ${results.result('database')}`)];
  }
  const passed =
    rows.every((candidate) => candidate.result !== 'failed') &&
    rows.some((candidate) => candidate.result === 'passed') &&
    results.result('database') !== 'failure';
  return { rows: rows.map((candidate) => ({ ...candidate, 'last-tested': lastTested })), passed };
}

const RESULT_SHOWN: Record<DrillRow['result'], string> = {
  passed: '✅ passed',
  failed: '❌ failed',
  'not run': '➖ not run',
};

/** RTO and RPO as measured, under the table (the rows against targets say whether they were met). */
function recoveryLine(matrix: DrillMatrix): string[] {
  const restore = matrix.rows.find((candidate) => candidate['rto-s'] !== undefined || candidate['rpo-s'] !== undefined);
  if (!restore) return [];
  const shown = (value: number | undefined) => (value === undefined ? 'not measured' : formatDuration(value * 1000));
  return [
    '',
    `Measured: RTO ${shown(restore['rto-s'])} (restore until the database answered), RPO ${shown(restore['rpo-s'])} (age of the newest restorable state).`,
  ];
}

export function drillMarkdown(
  matrix: DrillMatrix,
  environment: string,
  runUrl: string | undefined,
  problems: readonly string[] = [],
): string {
  const lines = [
    matrix.passed && problems.length === 0
      ? `## ✅ Rollback drill passed: ${environment}`
      : `## ❌ Rollback drill failed: ${environment}`,
    '',
    '| Scenario | Last tested | Result | Duration | Details |',
    '|---|---|---|---|---|',
    ...matrix.rows.map(
      (candidate) =>
        `| ${cell(candidate.scenario)} | ${candidate['last-tested']} | ${RESULT_SHOWN[candidate.result]} | ${candidate['duration-s'] === null ? '–' : `${candidate['duration-s']} s`} | ${cell(candidate.details)} |`,
    ),
    ...recoveryLine(matrix),
    ...problems.map((problem) => `\n**${problem}**`),
    '',
    `Run: ${runUrl ?? ''}`,
    '',
  ];
  return lines.join('\n');
}

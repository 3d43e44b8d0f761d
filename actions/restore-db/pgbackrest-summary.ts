import { formatDuration } from '../../shared/duration.js';
import { keyValueTable, markdownTable } from '../../shared/summary.js';
import type { PgBackRestRestoreResult } from './pgbackrest.js';
import type { PgBackRestRestoreInputs } from './pgbackrest-inputs.js';
import { restoredTablesSummary } from './tables.js';

/** The job summary of a point-in-time recovery: to what, from which backup, where, and how it checks out. */
export interface PgBackRestRestoreSummaryInput {
  inputs: PgBackRestRestoreInputs;
  result: PgBackRestRestoreResult;
  problems: string[];
  durationMs: number;
  pgBackRest: string;
}

export function pgBackRestRestoreSummary(input: PgBackRestRestoreSummaryInput): string {
  const { inputs, result } = input;
  const { plan, side, state } = result;
  const where = side
    ? `side cluster ${side.dataDirectory}, port ${side.port} (${inputs.sideCluster === 'keep' ? 'left running' : inputs.sideCluster === 'stop' ? 'stopped afterwards' : 'removed afterwards'})`
    : `in place (${inputs.target.host}:${inputs.target.port})`;
  const parts = [
    `## ${input.problems.length ? '❌' : '✅'} Point-in-time recovery: \`${inputs.target.database}\` ${input.problems.length ? '— does NOT hold together' : '— verified'}\n`,
    keyValueTable([
      ['Recovered to', plan.description],
      ['Into', where],
      ['Timeline', `${result.recovered.timeline} (promoted at ${result.recovered.lsn})`],
      ['pgBackRest', `${input.pgBackRest}, stanza ${inputs.settings.stanza}`],
      [
        'Safety restore point',
        result.safetyPoint
          ? `\`${result.safetyPoint.name}\` at ${result.safetyPoint.lsn} on timeline ${result.safetyPoint.timeline} (the state before this restore)`
          : undefined,
      ],
      ['Schema version', state.schemaVersion ?? '(no migration history)'],
      [
        'Foreign keys',
        `${state.foreignKeys.length} checked, ${state.foreignKeys.some((fk) => fk.violations > 0) ? 'some with orphan rows' : 'all hold'}`,
      ],
      ['Newest restorable WAL', result.newestRestorableAt?.toISOString()],
      ['Restore (RTO)', formatDuration(result.restoreMs)],
      ['Took', formatDuration(input.durationMs)],
    ]),
  ];
  if (result.tables) parts.push(restoredTablesSummary(result.tables));
  if (input.problems.length)
    parts.push(`\n### Problems\n\n${input.problems.map((problem) => `- ${problem}`).join('\n')}\n`);
  // Estimates (tables above row-count-max-size) are labelled as such, never shown as counts.
  const rows = [
    ...Object.entries(state.rowCounts).map(([table, rows]) => [table, rows, String(rows)] as const),
    ...Object.entries(state.estimatedRowCounts ?? {}).map(
      ([table, rows]) => [table, rows, `~${rows} (estimate: above row-count-max-size)`] as const,
    ),
  ]
    .sort(([, a], [, b]) => b - a)
    .slice(0, 30)
    .map(([table, , shown]) => [table, shown]);
  if (rows.length) parts.push('\n### Row counts\n\n', markdownTable(['Table', 'Rows'], rows));
  return parts.join('');
}

import type { BackupResult } from '../../shared/backup/backup.js';
import type { RestoredState } from '../../shared/backup/inspect.js';
import type { BackupMetadata } from '../../shared/backup/metadata.js';
import { formatDuration } from '../../shared/duration.js';
import { code, keyValueTable, markdownTable } from '../../shared/summary.js';

/** The job summary: what was restored where, and how the result compares with the backup. */
export interface RestoreSummaryInput {
  database: string;
  mode: string;
  origin: string;
  checksum: string;
  metadata?: BackupMetadata;
  state: RestoredState;
  problems: string[];
  safety?: BackupResult;
  safetyArtifact?: string;
  previous?: string;
  durationMs: number;
}

export function restoreSummary(input: RestoreSummaryInput): string {
  const { metadata, state } = input;
  const fkBroken = state.foreignKeys.filter((fk) => fk.violations > 0);
  const parts = [
    `## ${input.problems.length ? '❌' : '✅'} Database restore: \`${input.database}\` ${input.problems.length ? '— does NOT match the backup' : '— verified'}\n`,
    input.problems.length
      ? `\n### Differences\n\n${input.problems.map((problem) => `- ${problem}`).join('\n')}\n\n`
      : '',
    keyValueTable([
      ['Restored into', `${code(input.database)} (${input.mode})`],
      ['Previous database', input.previous],
      ['Backup', input.origin],
      [
        'Taken',
        metadata
          ? `${metadata.createdAt} from ${code(metadata.source)}, label ${metadata.label}${metadata.appVersion ? `, app ${metadata.appVersion}` : ''}`
          : 'no metadata (checked against expected-checksum)',
      ],
      ['SHA-256', `\`${input.checksum}\` (verified before restoring)`],
      [
        'Schema version',
        `${state.schemaVersion ?? '(no migration history)'}${metadata ? ` — backup: ${metadata.schemaVersion?.version ?? '(no migration history)'}` : ''}`,
      ],
      [
        'Foreign keys',
        `${state.foreignKeys.length} checked, ${fkBroken.length ? `${fkBroken.length} with orphan rows` : 'all hold'}`,
      ],
      [
        'Safety backup',
        input.safety
          ? `${input.safety.path}${input.safetyArtifact ? ` (artifact ${input.safetyArtifact})` : ''}, SHA-256 \`${input.safety.checksum}\``
          : undefined,
      ],
      ['Took', formatDuration(input.durationMs)],
    ]),
  ];
  const rows = Object.entries(state.rowCounts)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 30)
    .map(([table, count]) => {
      const expected = metadata?.rowCounts[table];
      return [table, count, expected ?? '', expected === undefined ? '' : expected === count ? 'yes' : '**NO**'];
    });
  if (rows.length) {
    parts.push('\n### Row counts\n\n');
    parts.push(markdownTable(['Table', 'Restored', 'In backup', 'Match'], rows));
  }
  return parts.join('');
}

import { formatDuration } from '../../shared/duration.js';
import { code, codeBlock, keyValueTable } from '../../shared/summary.js';
import type { PgBackRestBackupInputs, PgBackRestBackupResult } from './pgbackrest.js';
import { restoreActionRef } from './summary.js';

/** The job summary of a restore point: where it is, what it rests on, and the step that returns to it. */
export interface PgBackRestSummaryInput {
  inputs: PgBackRestBackupInputs;
  result: PgBackRestBackupResult;
  server: string;
  pgBackRest: string;
  durationMs: number;
}

export function pgBackRestRestoreStep(input: PgBackRestSummaryInput): string {
  const { settings } = input.inputs;
  const lines = [
    `- uses: ${restoreActionRef()}`,
    '  with:',
    '    method: pgbackrest',
    '    database-url: ${{ secrets.DATABASE_URL }}',
    `    pgbackrest-stanza: ${settings.stanza}`,
  ];
  if (settings.config) lines.push(`    pgbackrest-config: ${settings.config}`);
  if (settings.via.length) lines.push(`    pgbackrest-via: ${JSON.stringify(settings.via)}`);
  if (settings.ssh)
    lines.push(
      `    ssh-host: ${settings.ssh.host}`,
      '    ssh-key: ${{ secrets.DB_SSH_KEY }}',
      '    known-hosts: ${{ vars.DB_KNOWN_HOSTS }}',
    );
  lines.push(
    `    restore-point: ${input.result.restorePoint.name}`,
    `    restore-point-lsn: ${input.result.restorePoint.lsn}`,
  );
  lines.push('    # mode: replace   # in place: also give stop-command and start-command');
  return lines.join('\n');
}

export function pgBackRestBackupSummary(input: PgBackRestSummaryInput): string {
  const { inputs, result } = input;
  const { restorePoint, backup } = result;
  return [
    `## ✅ Restore point: \`${restorePoint.name}\` (label \`${inputs.label}\`)\n`,
    keyValueTable([
      ['Database', `${code(inputs.target.database)}, PostgreSQL ${input.server}`],
      ['pgBackRest', `${input.pgBackRest}, stanza ${result.stanza}`],
      [
        'Restore point',
        `\`${restorePoint.name}\` at LSN ${restorePoint.lsn}, timeline ${restorePoint.timeline}, ${restorePoint.createdAt.toISOString()}`,
      ],
      ['WAL archived', `through ${result.archiveNewestWal} (the point's segment: ${restorePoint.segment})`],
      [
        'Backup',
        `${backup.label} (${backup.type}, finished ${backup.stoppedAt.toISOString()})${result.backupTaken ? ', taken by this step' : ', the newest in the repository'}`,
      ],
      ['App version', inputs.appVersion],
      ['Took', formatDuration(input.durationMs)],
    ]),
    '\n### Return to it\n',
    codeBlock(pgBackRestRestoreStep(input), 'yaml'),
  ].join('');
}

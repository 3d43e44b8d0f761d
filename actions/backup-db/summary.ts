import { formatDuration } from '../../shared/duration.js';
import type { BackupMetadata } from '../../shared/backup/metadata.js';
import { formatBytes } from '../../shared/backup/progress.js';
import { code, codeBlock, details, keyValueTable, markdownTable } from '../../shared/summary.js';

/** The job summary: what was backed up, how it was checked, and the exact step that restores it. */
export interface BackupSummaryInput {
  metadata: BackupMetadata;
  path: string;
  artifact?: { id: number; name: string; retentionDays: number };
  durationMs: number;
}

/** `uses:` of restore-db from the same repository and ref as this action (GITHUB_ACTION_*). */
export function restoreActionRef(): string {
  const repository = process.env.GITHUB_ACTION_REPOSITORY || 'rollback-actions/rollback-actions';
  const ref = process.env.GITHUB_ACTION_REF || 'v1';
  return `${repository}/actions/restore-db@${ref}`;
}

export function restoreStep(input: BackupSummaryInput): string {
  const { metadata, artifact } = input;
  const lines = [`- uses: ${restoreActionRef()}`, '  with:', '    database-url: ${{ secrets.DATABASE_URL }}'];
  if (artifact) {
    lines.push(`    artifact-name: ${artifact.name}`);
    if (process.env.GITHUB_RUN_ID) lines.push(`    run-id: ${process.env.GITHUB_RUN_ID}`);
    lines.push('    github-token: ${{ github.token }}');
  } else {
    lines.push(`    path: ${input.path}`);
  }
  lines.push(`    expected-checksum: ${metadata.checksum.value}`);
  if (metadata.encryption) lines.push('    encryption-key: ${{ secrets.BACKUP_ENCRYPTION_KEY }}');
  lines.push('    # mode: replace   # restores over the database itself, after a safety backup');
  return lines.join('\n');
}

export function backupSummary(input: BackupSummaryInput): string {
  const { metadata, artifact } = input;
  const schema = metadata.schemaVersion
    ? `${metadata.schemaVersion.version ?? '(empty history)'}${metadata.schemaVersion.dirty ? ' (dirty!)' : ''} — ${metadata.schemaVersion.tool}, ${metadata.schemaVersion.table}`
    : 'no migration history table found';
  const parts = [
    `## ✅ Database backup verified: \`${metadata.database}\` (label \`${metadata.label}\`)\n`,
    // One line under the verdict; the tables fold, so the next step's verdict stays in view.
    `${formatBytes(metadata.size)}, ${metadata.dumpedTables.length} table(s), ${artifact ? `artifact ${code(artifact.name)}` : `file ${code(input.path)}`}, took ${formatDuration(input.durationMs)}.\n\n`,
    details(
      'Backup details',
      keyValueTable([
        ['Database', code(metadata.source)],
        ['Server', `PostgreSQL ${metadata.serverVersion}`],
        ['pg_dump', metadata.pgDump.version],
        [
          'Format',
          `${metadata.format}${metadata.jobs > 1 ? ` (${metadata.jobs} jobs)` : ''}, compression ${metadata.compression}${metadata.schemaOnly ? ', schema only' : ''}`,
        ],
        ['Size', formatBytes(metadata.size)],
        ['SHA-256', `\`${metadata.checksum.value}\``],
        [
          'Encrypted',
          metadata.encryption ? `yes, ${metadata.encryption.algorithm.toUpperCase()} (key from encryption-key)` : 'no',
        ],
        ['Schema version', schema],
        ['App version', metadata.appVersion ?? undefined],
        ['Tables', `${metadata.dumpedTables.length}`],
        ['Verified', [metadata.verification.archive, metadata.verification.restore].filter(Boolean).join('; ')],
        [
          'Artifact',
          artifact
            ? `${artifact.name} (id ${artifact.id}), kept ${artifact.retentionDays} day(s)`
            : 'not uploaded (upload: false)',
        ],
        ['File', code(input.path)],
        ['Took', formatDuration(input.durationMs)],
      ]),
    ),
  ];
  const counts: [string, string | number][] = [
    ...Object.entries(metadata.estimatedRowCounts ?? {}).map(([table, rows]): [string, string] => [
      table,
      `~${rows} (estimate)`,
    ]),
    ...Object.entries(metadata.rowCounts).sort(([, a], [, b]) => b - a),
  ];
  if (counts.length > 0) {
    const cover = {
      'all-tables': 'every table',
      'largest-tables': 'largest tables',
      'size-limited': 'exact up to row-count-max-size, estimated above',
      none: '',
    }[metadata.rowCountsCover];
    const more = counts.length > 20 ? `\n…and ${counts.length - 20} more in the metadata.\n` : '';
    parts.push(
      details(
        `Row counts (${cover}, in the dump's snapshot)`,
        markdownTable(['Table', 'Rows'], counts.slice(0, 20)) + more,
      ),
    );
  }
  parts.push(details('Restore it', codeBlock(restoreStep(input), 'yaml')));
  return parts.join('');
}

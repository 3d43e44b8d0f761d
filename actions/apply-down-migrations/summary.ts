import { formatDuration } from '../../shared/duration.js';
import type { LockKey } from '../../shared/migrations/lock.js';
import type { MigrationFailure, MigrationOutcome, MigrationPlan } from '../../shared/migrations/runner.js';
import type { VerifyResult } from '../../shared/migrations/verify.js';
import { code, codeBlock, details, keyValueTable, markdownTable } from '../../shared/summary.js';

/** The job summary: what was reverted, how long each took, and on failure exactly where and what to do next. */
export interface SummaryFacts {
  database: string;
  format: string;
  historyTable: string;
  dryRun: boolean;
  initialVersion: string | null;
  finalVersion: string | null;
  plan?: MigrationPlan;
  completed: MigrationOutcome[];
  failure?: MigrationFailure;
  alreadyReverted: string[];
  nothingToDo?: string;
  backup: string;
  lockKeys: LockKey[];
  lockWaitedMs?: number;
  sql?: string;
  verify?: VerifyResult;
  durationMs: number;
}

function title(facts: SummaryFacts): string {
  const move = `${facts.initialVersion ?? 'none'} → ${facts.finalVersion ?? 'none'}`;
  if (facts.dryRun) return `Down migrations (dry run): would go ${move}`;
  if (facts.failure) return `Down migrations failed at ${facts.failure.version}: ${move}`;
  if (facts.nothingToDo) return `Down migrations: nothing to do (${facts.nothingToDo})`;
  return `Down migrations: ${move}`;
}

export function renderSummary(facts: SummaryFacts): string {
  const parts: string[] = [`## ${title(facts)}\n`];
  parts.push(
    keyValueTable([
      ['Database', code(facts.database)],
      ['Format', `${facts.format}, history ${facts.historyTable}`],
      [
        'Version',
        `${facts.initialVersion ?? 'none'} → ${facts.finalVersion ?? 'none'}${facts.dryRun ? ' (planned)' : ''}`,
      ],
      ['Backup', facts.backup],
      [
        'Migration lock',
        `${facts.lockKeys.map((key) => `advisory lock ${key.id}`).join(', ')}${facts.lockWaitedMs !== undefined ? ` (waited ${formatDuration(facts.lockWaitedMs)})` : facts.dryRun ? ' (not taken: dry run)' : ''}`,
      ],
      ['Already reverted', facts.alreadyReverted.length ? facts.alreadyReverted.join(', ') : undefined],
      ['Duration', formatDuration(facts.durationMs)],
    ]),
  );

  const steps = facts.plan?.migrations ?? [];
  if (steps.length > 0) {
    const done = new Map(facts.completed.map((outcome) => [outcome.version, outcome]));
    const rows = steps.map((step) => {
      const outcome = done.get(step.version);
      const result = facts.dryRun
        ? 'planned'
        : outcome
          ? 'reverted'
          : facts.failure?.version === step.version
            ? `**failed**${facts.failure.rolledBack ? ' (rolled back)' : ''}`
            : 'not run';
      return [
        step.version,
        step.name,
        step.file ?? '(history only)',
        step.transactional ? 'yes' : 'no',
        outcome ? formatDuration(outcome.durationMs) : '',
        result,
      ];
    });
    parts.push(`\n${markdownTable(['Version', 'Name', 'File', 'In transaction', 'Duration', 'Result'], rows)}`);
    const notes = steps.flatMap((step) => step.notes.map((note) => `- ${step.version}: ${note}`));
    if (notes.length) parts.push(`\n${notes.join('\n')}\n`);
  }

  if (facts.failure) {
    const failure = facts.failure;
    const where = `${failure.file ?? `version ${failure.version}`}${failure.line ? `, line ${failure.line}${failure.column ? `, column ${failure.column}` : ''}` : ''}`;
    parts.push(
      `\n### Failure\n\n**${where}**: \`ERROR${failure.code ? ` ${failure.code}` : ''}\` ${failure.message}\n`,
    );
    const extra = [
      failure.detail && `Detail: ${failure.detail}`,
      failure.hint && `Hint: ${failure.hint}`,
      failure.where && `Context: ${failure.where}`,
    ].filter(Boolean);
    if (extra.length) parts.push(`\n${extra.map((line) => `- ${line}`).join('\n')}\n`);
    parts.push(`\nStatement:\n\n${codeBlock(failure.statement, 'sql')}\n${failure.historyState}\n`);
  }

  if (facts.verify) {
    const verify = facts.verify;
    parts.push(
      `\n### Verification: ${verify.equal ? 'schema matches the target' : '**schema differs from the target**'}\n\n`,
    );
    parts.push(
      keyValueTable([
        [
          'Schema',
          verify.onlyInDatabase.length || verify.onlyInExpected.length
            ? `${verify.onlyInDatabase.length} statement(s) only in the database, ${verify.onlyInExpected.length} only in the target`
            : 'equal (column order ignored)',
        ],
        ['History table shape', verify.historyShapeEqual ? 'equal' : 'differs'],
        [
          'History versions',
          verify.historyVersions.equal
            ? 'equal'
            : `database: ${verify.historyVersions.database.join(', ') || 'none'}; target: ${verify.historyVersions.expected.join(', ') || 'none'}`,
        ],
        [
          'Tables dropped',
          verify.droppedTables.length
            ? verify.droppedTables.map((table) => `${table.table} (${table.rows} rows)`).join(', ')
            : 'none',
        ],
        [
          'Rows lost in kept tables',
          verify.rowsLost.length
            ? verify.rowsLost.map((change) => `${change.table}: ${change.before} → ${change.after}`).join(', ')
            : 'none',
        ],
        [
          'Rows added during the run',
          verify.rowsGained.length
            ? verify.rowsGained.map((change) => `${change.table}: ${change.before} → ${change.after}`).join(', ')
            : undefined,
        ],
      ]),
    );
    if (verify.onlyInDatabase.length)
      parts.push(`\n${details('Only in the database', codeBlock(verify.onlyInDatabase.join(';\n\n'), 'sql'))}`);
    if (verify.onlyInExpected.length)
      parts.push(`\n${details('Only in the target schema', codeBlock(verify.onlyInExpected.join(';\n\n'), 'sql'))}`);
  }

  if (facts.sql && (facts.dryRun || facts.failure)) {
    parts.push(`\n${details(facts.dryRun ? 'SQL that would run' : 'SQL of this run', codeBlock(facts.sql, 'sql'))}`);
  }
  return parts.join('');
}

import { code, codeBlock, details, keyValueTable, markdownTable } from '../../shared/summary.js';
import type { CurrentVersion } from './current.js';
import { migrationLabel, type PlannedMigration } from './plan.js';
import type { SchemaPlan } from './schema-plan.js';
import type { PlanWarning, StrategyDecision } from './strategy.js';
import type { TargetChoice } from './target.js';

export interface SummaryFacts {
  current: CurrentVersion;
  target: TargetChoice;
  schema?: SchemaPlan;
  migrationsDir?: string;
  decision: StrategyDecision;
  policy: string;
  verdict: string;
  warnings: readonly PlanWarning[];
  notes: readonly string[];
  /** The database read for the plan ("postgres://app@db:5432/shop"); undefined: planned from git only. */
  database?: string;
  planDigest: string;
}

const DOWN_SHOWN: Record<PlannedMigration['downStatus'], string> = {
  present: 'present',
  empty: '**empty**',
  missing: '**missing**',
};

function whyCell(migration: PlannedMigration): string {
  const strongest = migration.statements.filter((statement) => statement.class === migration.class);
  const reasons = strongest.flatMap((statement) => statement.reasons.slice(0, 1));
  const shown = reasons.slice(0, 2).join('; ');
  return reasons.length > 2 ? `${shown}; and ${reasons.length - 2} more` : shown || 'no statements';
}

function revertCostCell(migration: PlannedMigration): string {
  const losses = migration.revertWarnings
    .filter((warning) => warning.kind === 'data-loss')
    .map((warning) => warning.message.replace(/^Reverting /, '').split(':')[0]);
  const incomplete = migration.revertWarnings.filter((warning) => warning.kind !== 'data-loss').length;
  const parts = [...losses];
  if (incomplete > 0) parts.push(`${incomplete} lint finding(s)`);
  return parts.join('; ') || '—';
}

/** The runbook's migration rollback matrix: one row per migration between the releases. */
export function migrationMatrix(migrations: readonly PlannedMigration[], currentTag: string): string {
  return markdownTable(
    ['Version', 'Migration', 'Class', 'Down file', 'Reverting', 'Why'],
    migrations.map((migration) => [
      migration.version,
      migration.inCurrentRelease ? migration.name : `${migration.name} (applied, not in ${currentTag})`,
      migration.class,
      DOWN_SHOWN[migration.downStatus],
      revertCostCell(migration),
      whyCell(migration),
    ]),
  );
}

/** Each table and column whose data a migration destroyed, with the statement that did it. */
function dataLostSection(migrations: readonly PlannedMigration[], targetTag: string): string {
  const lines = migrations.flatMap((migration) =>
    migration.statements
      .filter((statement) => statement.lost?.length)
      .map(
        (statement) =>
          `- **${statement.lost!.join(', ')}**: ${migrationLabel(migration)} line ${statement.line}, \`${statement.sql.replace(/`/g, "'")}\` (${statement.reasons.join('; ')})`,
      ),
  );
  return lines.length
    ? `### Data lost since ${targetTag}\n\nNo down file brings this back; only a backup taken before it happened has it.\n\n${lines.join('\n')}\n`
    : '';
}

function statementDetails(migrations: readonly PlannedMigration[]): string {
  const blocks = migrations.map((migration) => {
    const rows = migration.statements.map((statement) => [
      statement.line || '',
      statement.class,
      `\`${statement.sql.replace(/`/g, "'")}\``,
      statement.reasons.join('; '),
    ]);
    const table =
      rows.length > 0 ? markdownTable(['Line', 'Class', 'Statement', 'Reasons'], rows) : '_No statements._\n';
    const lint = migration.revertWarnings.map((warning) => `- ${warning.kind}: ${warning.message}`).join('\n');
    const from = migration.classifiedFrom ? `; classified from ${migration.classifiedFrom}` : '';
    return `**${migrationLabel(migration)}** (${migration.up ?? 'no up file'}${from})\n\n${table}${lint ? `\nDown file ${migration.down}:\n${lint}\n` : ''}`;
  });
  return details('Statements and reasons', blocks.join('\n'));
}

export function renderSummary(facts: SummaryFacts): string {
  const { current, target, schema, decision } = facts;
  const sections: string[] = [];
  const stops = schema?.stops ?? [];
  sections.push(`## Rollback plan: ${current.release.tag} → ${target.release.tag}\n`);
  sections.push(stops.length ? `**stop** — ${facts.verdict}\n` : `**${decision.strategy}** — ${facts.verdict}\n`);
  if (stops.length)
    sections.push(`### Stop: no rollback may start\n\n${stops.map((stop) => `- ${stop}`).join('\n')}\n`);
  sections.push(
    keyValueTable([
      ['Current', `${current.release.tag} (${current.detail})`],
      ['Target', `${target.release.tag} (${target.detail})`],
      [
        'Schema',
        schema
          ? `${schema.currentSchema} → ${decision.strategy === 'image-only' ? `${schema.currentSchema} (unchanged)` : schema.targetSchema}`
          : undefined,
      ],
      ['Migrations', facts.migrationsDir],
      [
        'Compatibility',
        schema?.compatibility
          ? `${schema.compatibility.file}: ${schema.compatibility.entry.versions} runs on schemas ${schema.compatibility.entry.minSchema ?? 'any'}..${schema.compatibility.entry.maxSchema}`
          : undefined,
      ],
      [
        'Strategy',
        decision.forced
          ? `${decision.strategy} (forced by db-policy; findings: ${decision.recommended})`
          : decision.strategy,
      ],
      [
        'Planned from',
        schema
          ? facts.database
            ? `the database's own history (${code(facts.database)})`
            : 'git only: the database was not read (no database-url)'
          : undefined,
      ],
      ['Plan digest', `\`${facts.planDigest}\``],
    ]),
  );
  if (schema) {
    sections.push('### Migration rollback matrix\n');
    if (schema.toRevert.length === 0)
      sections.push(`No migration to revert between ${target.release.tag} and ${current.release.tag}.\n`);
    else sections.push(migrationMatrix(schema.toRevert, current.release.tag));
    if (schema.kept.length > 0) {
      sections.push(
        `\nKept (the compatibility file says ${target.release.tag} runs with them):\n\n${migrationMatrix(schema.kept, current.release.tag)}`,
      );
    }
    const lost = dataLostSection(schema.toRevert, target.release.tag);
    if (lost) sections.push(lost);
    if (schema.downProblems.length) {
      sections.push(
        `### apply-down-migrations would refuse the revert\n\nIts own pre-checks, run on every down file of the revert set:\n\n${schema.downProblems.map((problem) => `- ${problem}`).join('\n')}\n`,
      );
    }
  } else {
    sections.push('No migrations directory given: the plan covers the image only.\n');
  }
  sections.push(`### Why ${decision.recommended}\n\n${decision.reasons.map((reason) => `- ${reason}`).join('\n')}\n`);
  if (facts.warnings.length > 0) {
    sections.push(
      `### Warnings\n\n${facts.warnings.map((warning) => `- **${warning.kind}**${warning.migration ? ` (${warning.migration})` : ''}: ${warning.message}`).join('\n')}\n`,
    );
  }
  if (schema && [...schema.toRevert, ...schema.kept].length > 0)
    sections.push(statementDetails([...schema.toRevert, ...schema.kept]));
  if (target.passedOver.length > 0) {
    sections.push(
      details(
        'Candidates passed over',
        markdownTable(
          ['Candidate', 'Why not'],
          target.passedOver.map((item) => [item.tag, item.reason]),
        ),
      ),
    );
  }
  if (facts.notes.length > 0) sections.push(details('Notes', codeBlock(facts.notes.join('\n'))));
  return sections.join('\n');
}

import type { DbPolicy } from './inputs.js';
import { listed, migrationLabel, type PlannedMigration } from './plan.js';

/**
 * The rollback strategy, decided from the migrations between the two releases:
 * - image-only: the target runs on the current schema (nothing to revert, or every migration additive);
 * - down-migrations: something the target cannot live with, and every down file is there to undo it
 *   and passes apply-down-migrations' own pre-checks;
 * - restore-backup: a migration destroyed data the target had (data-loss) or added rows to existing
 *   tables, which no down file undoes; a down file is missing or empty; or apply-down-migrations would
 *   refuse a down file.
 */
export type Strategy = Exclude<DbPolicy, 'auto'>;

export interface PlanWarning {
  kind: string;
  message: string;
  /** The migration version concerned, when there is one. */
  migration?: string;
}

export interface StrategyDecision {
  strategy: Strategy;
  /** What the findings call for, whatever db-policy says. */
  recommended: Strategy;
  /** Why the findings call for `recommended`. */
  reasons: string[];
  forced: boolean;
  /** Where a forced strategy contradicts the findings. */
  warnings: PlanWarning[];
}

export interface DecisionContext {
  targetTag: string;
  /** True when the compatibility file decided which migrations the target cannot run with. */
  fromCompatibility: boolean;
  /** Set when the compatibility file says the target runs on the current schema. */
  compatibleNote?: string;
  /** Why apply-down-migrations would refuse the revert (its pre-checks, run by the plan). */
  downProblems?: readonly string[];
}

function firstReason(migration: PlannedMigration): string {
  const statement = migration.statements.find((candidate) => candidate.class === migration.class);
  return statement?.reasons.find(Boolean) ?? migration.class;
}

/** Findings that destroy whole tables' rows (their `lost` entries are tables, not columns or schemas). */
const TABLE_LOSS = /^(drops table|truncates|deletes rows of) /;

/** Tables whose rows a data-loss migration destroyed: what a partial restore brings back. */
export function tablesDestroyed(migrations: readonly PlannedMigration[]): string[] {
  const statements = migrations
    .filter((migration) => migration.class === 'data-loss')
    .flatMap((migration) => migration.statements);
  return [
    ...new Set(
      statements
        .filter(
          (statement) => statement.class === 'data-loss' && statement.reasons.some((reason) => TABLE_LOSS.test(reason)),
        )
        .flatMap((statement) => statement.lost ?? []),
    ),
  ];
}

/** The remedy that keeps everything else written since: restore-db's partial restore of just those tables. */
export function tableRemedy(tables: readonly string[]): string {
  return `For the table(s) it destroyed (${listed([...tables])}), restore-db \`tables: ${tables.join(', ')}\` brings back only their rows from that backup (or a pgBackRest side cluster), into the tables once a down migration has recreated them empty (\`tables-content: definition-and-data\` where they no longer exist, \`tables-schema\` to compare first), keeping everything else written since.`;
}

function recommend(
  toRevert: readonly PlannedMigration[],
  context: DecisionContext,
): { strategy: Strategy; reasons: string[] } {
  if (toRevert.length === 0) {
    return {
      strategy: 'image-only',
      reasons: [
        context.compatibleNote ??
          `${context.targetTag} has every migration the current release has: nothing to revert.`,
      ],
    };
  }
  if (!context.fromCompatibility && toRevert.every((migration) => migration.class === 'additive')) {
    return {
      strategy: 'image-only',
      reasons: [
        `Every migration since ${context.targetTag} is additive (${listed(toRevert.map(migrationLabel))}): ${context.targetTag} runs on the current schema.`,
      ],
    };
  }
  const reasons: string[] = [];
  for (const migration of toRevert.filter((candidate) => candidate.class === 'data-loss')) {
    reasons.push(
      `${migrationLabel(migration)} destroyed data that existed at ${context.targetTag}: ${migration.dataLost.join(', ')} (${firstReason(migration)}). Only a backup taken before it ran has that data.`,
    );
  }
  for (const migration of toRevert.filter((candidate) => candidate.class === 'data-changing')) {
    reasons.push(`${migrationLabel(migration)} changes existing data (${firstReason(migration)}).`);
  }
  const tables = tablesDestroyed(toRevert);
  if (tables.length > 0) reasons.push(tableRemedy(tables));
  const withoutDown = toRevert.filter((migration) => migration.downStatus !== 'present');
  for (const migration of withoutDown)
    reasons.push(
      `${migrationLabel(migration)} has ${migration.downStatus === 'missing' ? 'no down file' : 'an empty down file'}: it cannot be reverted.`,
    );
  if (reasons.length > 0) return { strategy: 'restore-backup', reasons };
  if (context.downProblems?.length) {
    return {
      strategy: 'restore-backup',
      reasons: context.downProblems.map((problem) => `apply-down-migrations would refuse the revert: ${problem}`),
    };
  }
  if (context.fromCompatibility) {
    reasons.push(
      `The compatibility file says ${context.targetTag} cannot run with ${listed(toRevert.map(migrationLabel))} applied.`,
    );
  }
  for (const migration of toRevert.filter((candidate) => candidate.class !== 'additive')) {
    reasons.push(
      `${migrationLabel(migration)} is ${migration.class} for ${context.targetTag}: ${firstReason(migration)}.`,
    );
  }
  reasons.push('Every migration to revert has a down file.');
  return { strategy: 'down-migrations', reasons };
}

function contradiction(
  policy: Strategy,
  recommended: Strategy,
  reasons: string[],
  toRevert: readonly PlannedMigration[],
  context: DecisionContext,
): string {
  const why = reasons.join(' ');
  if (policy === 'image-only')
    return `db-policy forces image-only, but the findings call for ${recommended}: ${why} ${context.targetTag} may fail against the current schema.`;
  if (policy === 'down-migrations') {
    if (toRevert.length === 0) return `db-policy forces down-migrations, but there is no migration to revert: ${why}`;
    if (recommended === 'image-only')
      return `db-policy forces down-migrations although ${why} Reverting loses data written since those migrations ran.`;
    return `db-policy forces down-migrations, but the findings call for restore-backup: ${why} Down files cannot do this safely.`;
  }
  return `db-policy forces restore-backup although ${recommended} would do (${why}): everything written since the backup was taken is lost.`;
}

export function decideStrategy(
  toRevert: readonly PlannedMigration[],
  policy: DbPolicy,
  context: DecisionContext,
): StrategyDecision {
  const { strategy: recommended, reasons } = recommend(toRevert, context);
  if (policy === 'auto' || policy === recommended)
    return { strategy: recommended, recommended, reasons, forced: policy !== 'auto', warnings: [] };
  return {
    strategy: policy,
    recommended,
    reasons,
    forced: true,
    warnings: [{ kind: 'policy-override', message: contradiction(policy, recommended, reasons, toRevert, context) }],
  };
}

import { listed, migrationLabel, type PlannedMigration } from './plan.js';
import { tablesDestroyed, type StrategyDecision } from './strategy.js';

export interface VerdictFacts {
  currentTag: string;
  targetTag: string;
  currentSchema?: string;
  targetSchema?: string;
  toRevert: readonly PlannedMigration[];
  decision: StrategyDecision;
  /** Where the revert set comes from; undefined without migrations. */
  source?: 'database' | 'git';
  /** Reasons no rollback may start. */
  stops?: readonly string[];
}

function list(migrations: readonly PlannedMigration[]): string {
  return listed(migrations.map((migration) => migration.version));
}

/** Objects the down files drop, for "reverting drops projects.archived". */
function droppedObjects(migrations: readonly PlannedMigration[]): string[] {
  const objects: string[] = [];
  for (const migration of migrations) {
    for (const warning of migration.revertWarnings) {
      const match = /^Reverting drops (?:table|column) ([^:]+):/.exec(warning.message);
      if (warning.kind === 'data-loss' && match) objects.push(match[1]);
    }
  }
  return objects;
}

/** One or two sentences an on-call engineer can act on (and where the plan's facts came from). */
export function verdict(facts: VerdictFacts): string {
  const { currentTag, targetTag, toRevert, decision } = facts;
  if (facts.stops?.length)
    return `Stop: do not roll back ${currentTag} to ${targetTag} yet. ${facts.stops.join(' ')}`
      .replace(/\s+/g, ' ')
      .trim();
  const reason = decision.reasons[0] ?? '';
  let text: string;
  if (decision.strategy === 'image-only') {
    text =
      toRevert.length === 0
        ? `Deploy ${targetTag} in place of ${currentTag} and leave the database as it is. ${reason}`
        : `Deploy ${targetTag} in place of ${currentTag} and keep the database at schema ${facts.currentSchema}. ${reason}`;
  } else if (decision.strategy === 'down-migrations') {
    const dropped = droppedObjects(toRevert);
    const cost = dropped.length > 0 ? ` Back up first: reverting drops ${dropped.join(', ')}.` : ' Back up first.';
    text = `Revert ${toRevert.length} migration(s) (${list(toRevert)}) with their down files to schema ${facts.targetSchema}, then deploy ${targetTag}. ${reason}${cost}`;
  } else {
    const oldest = toRevert.at(-1);
    const before = oldest ? ` taken before ${migrationLabel(oldest)} ran` : '';
    text = `Restore a database backup${before} (schema ${facts.targetSchema ?? 'of ' + targetTag}), then deploy ${targetTag}. ${reason}`;
    const tables = tablesDestroyed(toRevert);
    if (tables.length > 0)
      text += ` To keep what was written since, restore only ${listed(tables)} from it (restore-db tables).`;
  }
  if (decision.strategy !== decision.recommended)
    text = `Forced by db-policy (the findings call for ${decision.recommended}). ${text}`;
  const unreleased = toRevert.filter((migration) => !migration.inCurrentRelease);
  if (unreleased.length > 0 && decision.strategy !== 'image-only') {
    text += ` ${list(unreleased)} ${unreleased.length === 1 ? 'is' : 'are'} applied in the database although ${currentTag} does not have ${unreleased.length === 1 ? 'it' : 'them'} (an earlier image-only rollback, or a hotfix).`;
  }
  if (facts.source === 'git') text += ' Planned from git only: the database was not read (no database-url).';
  return text.replace(/\s+/g, ' ').trim();
}

import { ActionError, InputError } from '../../shared/errors.js';
import { compareVersions } from '../../shared/migrations/formats.js';
import type { HistoryState } from '../../shared/migrations/history.js';
import { appliedVersions, versionsAbove } from '../../shared/migrations/runner.js';
import { migrationTool } from '../../shared/migrations/tools/index.js';
import type { Migration, MigrationFormat } from '../../shared/migrations/types.js';
import type { DownTarget } from './inputs.js';

/**
 * Which applied migrations to revert, newest first, for a target-version, a step count or a plan
 * from compute-rollback-target. Computed under the migration lock from the history as it is now,
 * so a second run (after a failure, or one that waited for the lock) reverts only what is left.
 */
export interface DownSelection {
  versions: string[];
  /** Plan entries that are no longer applied (reverted by an earlier run). */
  alreadyReverted: string[];
  /** Why there is nothing to do, when there is nothing to do. */
  nothingToDo?: string;
}

function knownVersions(migrations: readonly Migration[], applied: readonly string[]): string {
  const all = [...new Set([...migrations.map((migration) => migration.version), ...applied])].sort(compareVersions);
  const shown = all.length > 12 ? [...all.slice(0, 3), '...', ...all.slice(-8)] : all;
  return shown.length ? shown.join(', ') : 'none';
}

export function selectVersionsToRevert(
  format: MigrationFormat,
  migrations: readonly Migration[],
  history: HistoryState,
  target: DownTarget,
  migrationsDir: string,
  /** With a plan: revert newer applied versions the plan leaves out too, for the plan digest to refuse, instead of refusing here. */
  options: { includeNewer?: boolean } = {},
): DownSelection {
  const applied = appliedVersions(format, migrations, history, migrationsDir);
  const inDirectory = new Set(migrations.map((migration) => migration.version));
  const current = applied.at(-1) ?? null;

  if (target.kind === 'version') {
    const version = migrationTool(format).normalizeVersion(target.version);
    // golang-migrate's applied versions come from the directory; the others' from their history rows.
    const known = version === '0' || inDirectory.has(version) || applied.includes(version);
    if (!known) {
      throw new InputError(
        'target-version',
        `is ${target.version}, which is neither a migration in ${migrationsDir} nor an applied version (known versions: ${knownVersions(migrations, applied)}). Nothing was changed.`,
        { hint: 'Use the target-schema-version output of compute-rollback-target, or "0" to revert everything.' },
      );
    }
    const versions = versionsAbove(applied, version);
    if (versions.length > 0) return { versions, alreadyReverted: [] };
    if (current !== null && compareVersions(current, version) < 0 && !applied.includes(version)) {
      throw new ActionError(
        `The database is at version ${current}, older than target-version ${version}: there is nothing to revert, and this action never migrates up. Nothing was changed.`,
        {
          hint: 'Check target-version, or migrate up with your migration tool if the release you roll back to needs the newer schema.',
        },
      );
    }
    return {
      versions: [],
      alreadyReverted: [],
      nothingToDo: `the database is already at version ${current ?? 'none'}${version === '0' ? '' : ` (target-version ${version})`}`,
    };
  }

  if (target.kind === 'steps') {
    if (applied.length < target.steps) {
      throw new InputError(
        'steps',
        `asks to revert ${target.steps} migration(s), but only ${applied.length} ${applied.length === 1 ? 'is' : 'are'} applied (current version ${current ?? 'none'}). Nothing was changed.`,
      );
    }
    return { versions: applied.slice(-target.steps).reverse(), alreadyReverted: [] };
  }

  const unknown = target.versions.filter((version) => !inDirectory.has(version) && !applied.includes(version));
  if (unknown.length > 0) {
    throw new InputError(
      'plan',
      `lists version(s) ${unknown.join(', ')}, which are neither migrations in ${migrationsDir} nor applied (known versions: ${knownVersions(migrations, applied)}). Nothing was changed.`,
      {
        hint: 'Give the plan computed for this repository and migrations-dir (compute-rollback-target\'s "migrations" output).',
      },
    );
  }
  const pending = target.versions.filter((version) => applied.includes(version)).sort((a, b) => compareVersions(b, a));
  const alreadyReverted = target.versions.filter((version) => !applied.includes(version));
  if (pending.length === 0) {
    return {
      versions: [],
      alreadyReverted,
      nothingToDo:
        target.versions.length === 0
          ? 'the plan lists no migrations to revert'
          : `every migration in the plan is already reverted (database at version ${current ?? 'none'})`,
    };
  }
  const oldest = pending.at(-1)!;
  const leftBehind = applied.filter(
    (version) => compareVersions(version, oldest) > 0 && !target.versions.includes(version),
  );
  if (leftBehind.length > 0 && options.includeNewer) {
    return { versions: [...leftBehind, ...pending].sort((a, b) => compareVersions(b, a)), alreadyReverted };
  }
  if (leftBehind.length > 0) {
    throw new ActionError(
      `The plan reverts ${pending.join(', ')}, but version(s) ${leftBehind.join(', ')}, newer than ${oldest}, are applied and not in the plan: reverting out of order would leave them on a schema they were not written for. Nothing was changed.`,
      {
        hint: 'Compute the plan again (compute-rollback-target) against the release that is running now, or use target-version.',
      },
    );
  }
  return { versions: pending, alreadyReverted };
}

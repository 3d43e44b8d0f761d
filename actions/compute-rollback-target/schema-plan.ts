import { compareVersions } from '../../shared/migrations/formats.js';
import type { MigrationFormat } from '../../shared/migrations/types.js';
import type { ReleaseTag } from '../../shared/releases/release-tags.js';
import { compatibilityFor, type CompatibilityEntry, type CompatibilityMatrix } from './compatibility.js';
import { assertFormatMatches, diffMigrations } from './migration-diff.js';
import { migrationLabel, planMigrations, type PlannedMigration } from './plan.js';
import type { PlanWarning } from './strategy.js';

/** What happens to the schema: which migrations to revert, and the versions before and after. */
export interface SchemaPlan {
  /** Newest migration at the current release ('0' when it has none). */
  currentSchema: string;
  /** Newest migration the target's schema includes: what reverting brings the database to ('0': none). */
  targetSchema: string;
  /** Migrations to revert, newest first. */
  toRevert: PlannedMigration[];
  /** Migrations newer than the target that the compatibility file says the target runs with. */
  kept: PlannedMigration[];
  compatibility?: { file: string; entry: CompatibilityEntry };
  /** When the compatibility file says the target runs on the current schema. */
  compatibleNote?: string;
  warnings: PlanWarning[];
}

export interface SchemaPlanRequest {
  repoRoot: string;
  dir: string;
  format: MigrationFormat;
  current: ReleaseTag;
  target: ReleaseTag;
  compatibility?: CompatibilityMatrix;
}

const newest = (versions: string[]): string => versions.reduce((top, version) => (compareVersions(version, top) > 0 ? version : top), '0');

export async function planSchema(request: SchemaPlanRequest): Promise<SchemaPlan> {
  const { repoRoot, dir, format, current, target } = request;
  const diff = await diffMigrations(repoRoot, dir, format, current, target);
  await assertFormatMatches(repoRoot, dir, format, current, diff.current);
  const warnings: PlanWarning[] = [];
  for (const migration of diff.onlyAtTarget) {
    warnings.push({
      kind: 'diverged-history',
      migration: migration.version,
      message: `${migrationLabel(migration)} exists at ${target.tag} but not at ${current.tag}: the releases' histories diverged, so the database may hold a migration the current release never had.`,
    });
  }
  for (const migration of diff.editedSince) {
    warnings.push({
      kind: 'edited-migration',
      migration: migration.version,
      message: `${migrationLabel(migration)} differs between ${target.tag} and ${current.tag}: an applied migration was edited, so a database may not match either file.`,
    });
  }
  const currentSchema = newest(diff.current.map((migration) => migration.version));
  const entry = request.compatibility ? compatibilityFor(request.compatibility, target.version) : undefined;
  if (request.compatibility && !entry) {
    warnings.push({
      kind: 'compatibility',
      message: `The compatibility file ${request.compatibility.file} has no entry for ${target.tag}: the plan follows the migrations in git instead.`,
    });
  }
  if (!request.compatibility || !entry) {
    return {
      currentSchema,
      targetSchema: newest(diff.target.map((migration) => migration.version)),
      toRevert: await planMigrations(diff.pending),
      kept: [],
      warnings,
    };
  }

  // The matrix is the authority: revert exactly what lies above the target's max-schema.
  const newestFirst = [...diff.current].sort((a, b) => compareVersions(b.version, a.version));
  const above = newestFirst.filter((migration) => compareVersions(migration.version, entry.maxSchema) > 0);
  const remaining = newestFirst.filter((migration) => compareVersions(migration.version, entry.maxSchema) <= 0);
  const pendingKept = diff.pending.filter((migration) => compareVersions(migration.version, entry.maxSchema) <= 0);
  const range = `${entry.minSchema ?? 'any'}..${entry.maxSchema}`;
  if (entry.minSchema !== undefined && compareVersions(currentSchema, entry.minSchema) < 0) {
    warnings.push({
      kind: 'compatibility',
      message: `The compatibility file says ${target.tag} needs schema ${range}, but ${current.tag}'s schema is only ${currentSchema}: a rollback cannot migrate up; check the matrix.`,
    });
  }
  return {
    currentSchema,
    targetSchema: remaining[0]?.version ?? '0',
    toRevert: await planMigrations(above),
    kept: await planMigrations(pendingKept),
    compatibility: { file: request.compatibility.file, entry },
    compatibleNote:
      above.length === 0 ? `The compatibility file says ${target.tag} (${entry.versions}) runs on schemas ${range}, which includes the current schema ${currentSchema}.` : undefined,
    warnings,
  };
}

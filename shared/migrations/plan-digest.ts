import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ActionError } from '../errors.js';
import { detectSchemaVersion } from './detect-history.js';
import type { HistoryState } from './history.js';
import { compareVersions, hasStatements, versionsAbove } from './tools/common.js';
import type { Migration, MigrationScript } from './types.js';

/**
 * The identity of a rollback plan: what compute-rollback-target shows the approver, reduced to what
 * decides what runs: the strategy, the version the database ends at, and the ordered revert set
 * with a hash of each down script. Its digest is the plan's `plan-digest`; apply-down-migrations and
 * restore-db compute the same digest from what they are about to run and refuse, changing nothing,
 * when it differs from `expected-plan-digest`: what was approved is what runs.
 */
export const PLAN_STRATEGIES = ['image-only', 'down-migrations', 'restore-backup'] as const;
export type PlanStrategy = (typeof PLAN_STRATEGIES)[number];

export interface PlanEntry {
  version: string;
  /** For messages only; not part of the digest. */
  name?: string;
  /** The down file, for messages only. */
  file?: string;
  /** SHA-256 of the down script that runs; null when none runs (history-only, or a restore). */
  downSha256: string | null;
  /** Whether that script runs in a transaction (a changed opt-out changes how it runs). */
  transactional: boolean;
}

export interface PlanIdentity {
  strategy: PlanStrategy;
  /** The version the history records afterwards; "0" for none. */
  targetVersion: string;
  /** Newest first, as they are undone. */
  reverts: PlanEntry[];
}

export const PLAN_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** "0" for no version, whichever way a tool or a release says it. */
export function normalizedVersion(version: string | null | undefined): string {
  return version === null || version === undefined || version === '' ? '0' : version;
}

export function downScriptSha256(script: MigrationScript | undefined): string | null {
  return script && hasStatements(script) ? sha256(script.sql) : null;
}

function downEntry(version: string, migration: Migration | undefined): PlanEntry {
  return {
    version,
    name: migration?.name,
    file: migration?.down?.file,
    downSha256: downScriptSha256(migration?.down),
    transactional: migration?.down?.transactional ?? true,
  };
}

/**
 * Reverting `versions` with the down files of `migrations` (the directory they run from), ending at
 * `toVersion` (the runner's plan says where).
 */
export function downIdentity(
  migrations: readonly Migration[],
  versions: readonly string[],
  toVersion: string | null,
): PlanIdentity {
  const byVersion = new Map(migrations.map((migration) => [migration.version, migration]));
  return {
    strategy: 'down-migrations',
    targetVersion: normalizedVersion(toVersion),
    reverts: [...new Set(versions)]
      .sort((a, b) => compareVersions(b, a))
      .map((version) => downEntry(version, byVersion.get(version))),
  };
}

/**
 * What a restore undoes: the versions the history records above the target (golang-migrate records
 * only its current one). No down script runs, so none is hashed.
 */
export function restoreEntries(history: Pick<HistoryState, 'applied'>, targetVersion: string | null): PlanEntry[] {
  return versionsAbove(history.applied, normalizedVersion(targetVersion)).map((version) => ({
    version,
    downSha256: null,
    transactional: true,
  }));
}

export function planDigest(identity: PlanIdentity): string {
  const canonical = JSON.stringify({
    strategy: identity.strategy,
    target: normalizedVersion(identity.targetVersion),
    reverts: identity.reverts.map((entry) => [entry.version, entry.downSha256, entry.transactional]),
  });
  return `sha256:${sha256(canonical)}`;
}

function label(entry: ApprovedEntry): string {
  return entry.name ? `${entry.version} (${entry.name})` : entry.version;
}

export function describeIdentity(identity: PlanIdentity): string {
  const reverts = identity.reverts.length ? identity.reverts.map(label).join(', ') : 'nothing';
  return `${identity.strategy} to version ${normalizedVersion(identity.targetVersion)}, undoing ${reverts}`;
}

/** A plan entry as the approver saw it: from compute-rollback-target's "migrations" output, hashes when it has them. */
export type ApprovedEntry = Pick<PlanEntry, 'version'> & Partial<PlanEntry>;

/** What differs between the approved entries (when the caller has them) and what would run now. */
export function explainDifference(approved: readonly ApprovedEntry[] | undefined, now: PlanIdentity): string[] {
  if (!approved) return [];
  const differences: string[] = [];
  const before = new Map(approved.map((entry) => [entry.version, entry]));
  const after = new Map(now.reverts.map((entry) => [entry.version, entry]));
  for (const entry of now.reverts) {
    const old = before.get(entry.version);
    if (!old) {
      differences.push(
        `version ${label(entry)} would be undone now but is not in the approved plan: it was applied after the plan was made`,
      );
    } else if (old.downSha256 !== undefined && old.downSha256 !== entry.downSha256) {
      const hash = (value: string | null) => (value ? `sha256 ${value.slice(0, 12)}…` : 'no statements');
      differences.push(
        `the down file of ${label(entry)}${entry.file ? ` (${entry.file})` : ''} changed since the plan was made: ${hash(old.downSha256)} then, ${hash(entry.downSha256)} now`,
      );
    } else if (old.transactional !== undefined && old.transactional !== entry.transactional) {
      differences.push(
        `the down file of ${label(entry)} now runs ${entry.transactional ? 'inside' : 'outside'} a transaction, unlike when the plan was made`,
      );
    }
  }
  for (const entry of approved) {
    if (!after.has(entry.version))
      differences.push(`version ${label(entry)} is in the approved plan but would not be undone now`);
  }
  return differences;
}

/**
 * Refuses, before anything changes, when what would run now is not the plan that was approved:
 * names both digests, what would run now and, given the approved entries, each difference.
 */
export function verifyPlanDigest(expected: string, now: PlanIdentity, approved?: readonly ApprovedEntry[]): string {
  const actual = planDigest(now);
  if (actual === expected) return actual;
  const differences = explainDifference(approved, now);
  const what = differences.length
    ? `What changed: ${differences.join('; ')}.`
    : 'The strategy, the target version or a down file differs from what was planned (pass the plan\'s "migrations" output as plan to see which).';
  throw new ActionError(
    `The approved plan (expected-plan-digest ${expected}) is not what this step would run now (${actual}: ${describeIdentity(now)}). ${what} Nothing was changed.`,
    {
      hint: 'Compute the rollback plan again (compute-rollback-target) and have the new plan approved, so that what runs is what was approved.',
    },
  );
}

/**
 * Restoring an Alembic database: Alembic's versions are a graph, not a numbered line, so what a
 * restore undoes is named by the heads alembic_version holds now, and where it ends by the heads the
 * backup holds (the target release's). compute-rollback-target (target heads at the target tag,
 * current heads from the database or the current tag) and restore-db (the backup's recorded heads,
 * the database's alembic_version rows) both know these without a checkout, so both compute this one
 * identity.
 */
export function alembicRestoreIdentity(targetHeads: readonly string[], currentHeads: readonly string[]): PlanIdentity {
  const sorted = (heads: readonly string[]) => [...new Set(heads.filter((head) => head !== ''))].sort();
  return {
    strategy: 'restore-backup',
    targetVersion: normalizedVersion(sorted(targetHeads).join(',')),
    reverts: sorted(currentHeads).map((version) => ({ version, downSha256: null, transactional: true })),
  };
}

/**
 * The identity of restoring a backup at `targetVersion` over the database `client` is connected to,
 * whose history is found as backup-db finds it (schema_migrations, __diesel_schema_migrations or
 * alembic_version in the public schema). For Alembic, `targetVersion` is the backup's heads joined
 * by ",", as backup-db records them.
 */
export async function restoreIdentity(
  client: pg.Client,
  targetVersion: string | null,
): Promise<{ identity: PlanIdentity; currentVersion: string | null }> {
  const detected = await detectSchemaVersion(client);
  const history = { applied: detected?.applied ?? [], current: detected?.version ?? null };
  if (detected?.format === 'alembic')
    return {
      identity: alembicRestoreIdentity((targetVersion ?? '').split(','), history.applied),
      currentVersion: history.current,
    };
  return {
    identity: {
      strategy: 'restore-backup',
      targetVersion: normalizedVersion(targetVersion),
      reverts: restoreEntries(history, targetVersion),
    },
    currentVersion: history.current,
  };
}

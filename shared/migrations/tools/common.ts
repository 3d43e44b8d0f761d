import type pg from 'pg';
import { ActionError } from '../../errors.js';
import { quoteIdent } from '../../postgres/connection.js';
import type { HistoryState, HistoryWriter } from '../history.js';
import { qualifiedName, sqlLiteral, type HistoryTable } from '../history-table.js';
import { golangMigrateLockId } from '../lock-id.js';
import { MigrationPlanError } from '../plan-error.js';
import type { LockKey } from '../lock.js';
import type { FileSource, Migration, MigrationScript } from '../types.js';
import type { MigrationTool } from './tool.js';

/** Digits compare as numbers (golang-migrate's uint), anything else as text. */
export function compareVersions(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const difference = BigInt(a) - BigInt(b);
    return difference < 0n ? -1 : difference > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The applied versions (oldest first) newer than `to`, newest first: what reverting to `to` reverts. */
export function versionsAbove(applied: readonly string[], to: string): string[] {
  // "0" is "no version": everything goes, diesel's 00000000000000 setup migration included.
  return applied.filter((version) => to === '0' || compareVersions(version, to) > 0).reverse();
}

/** True when the script has something besides whitespace and comments to run. */
export function hasStatements(script: MigrationScript | undefined): boolean {
  if (!script) return false;
  const withoutComments = script.sql.replace(/\/\*[\s\S]*?\*\//g, '').replace(/--[^\n]*/g, '');
  return withoutComments.trim().replace(/;/g, '').trim() !== '';
}

/** Files the tool keeps up and down of a migration in, collected by version. */
export function addScript(
  byVersion: Map<string, Migration>,
  version: string,
  name: string,
  direction: 'up' | 'down',
  script: MigrationScript,
  source: FileSource,
): void {
  const migration = byVersion.get(version) ?? { version, name };
  if (migration[direction]) {
    throw new ActionError(
      `Two ${direction} migrations have version ${version} in ${source.description}: ${migration[direction]!.path} and ${script.path}.`,
    );
  }
  migration[direction] = script;
  byVersion.set(version, migration);
}

/**
 * Migrations kept as up and down files side by side in one directory (golang-migrate's layout, which
 * hand-run SQL files share): `pattern` gives version, name and direction; subdirectories are not read
 * (golang-migrate reads one level), and versions are kept without leading zeros (its uint).
 */
export async function loadUpDownFiles(
  source: FileSource,
  files: readonly string[],
  pattern: RegExp,
  transactional: (sql: string) => boolean,
): Promise<Migration[]> {
  const byVersion = new Map<string, Migration>();
  for (const file of files) {
    if (file.includes('/')) continue;
    const match = pattern.exec(file);
    if (!match) continue;
    const [, version, name, direction] = match;
    const sql = await source.readFile(file);
    addScript(
      byVersion,
      String(BigInt(version)),
      name,
      direction as 'up' | 'down',
      { path: file, sql, transactional: transactional(sql), file, line: 1 },
      source,
    );
  }
  return [...byVersion.values()];
}

/** The lock id every run on this history table takes (golang-migrate's derivation). */
export function suiteLockKey(database: string, table: HistoryTable): LockKey {
  return {
    id: golangMigrateLockId(database, table.schema, table.table),
    derivation: `crc32("${database}\\0${table.schema}\\0${table.table}") * 1486364155 mod 2^32`,
  };
}

export function createSchemaSql(table: HistoryTable): string[] {
  return table.schema === 'public' ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(table.schema)};`];
}

/** dbmate's and diesel's history: one row per applied migration, keyed by version. */
export async function readRowPerMigration(client: pg.Client, table: HistoryTable): Promise<HistoryState> {
  const { rows } = await client.query<{ version: string }>(
    `SELECT version::text AS version FROM ${qualifiedName(table)}`,
  );
  const applied = rows.map((row) => row.version).sort(compareVersions);
  return { exists: true, applied, current: applied.at(-1) ?? null, dirty: false };
}

export function rowPerMigrationWriter(table: HistoryTable, createTable: string): HistoryWriter {
  const name = qualifiedName(table);
  return {
    createTable: () => [...createSchemaSql(table), createTable.replace('%TABLE%', name)],
    recordApplied: (version) => [`INSERT INTO ${name} (version) VALUES (${sqlLiteral(version)});`],
    recordReverted: (version) => [`DELETE FROM ${name} WHERE version = ${sqlLiteral(version)};`],
    markDirty: () => [],
  };
}

/** Versions that are digits, compared as numbers: all three SQL-file tools. */
export const DIGIT_VERSIONS = {
  compareVersions,
  versionInput: { pattern: /^[0-9]+$/, description: 'digits' },
  normalizeVersion: (version: string) => (version === '0' ? '0' : String(BigInt(version))),
} satisfies Pick<MigrationTool, 'compareVersions' | 'versionInput' | 'normalizeVersion'>;

/**
 * dbmate's and diesel's bookkeeping: a row per applied migration, the newest row left is the
 * version after a revert, and no lock of the tool's own (ours has the documented derivation).
 */
export const ROW_PER_MIGRATION = {
  readHistory: readRowPerMigration,
  appliedVersions: (_migrations: readonly Migration[], history: HistoryState) => [...history.applied],
  versionAfterRevert: (_migrations: readonly Migration[], _migration: Migration, remainingApplied: readonly string[]) =>
    remainingApplied.at(-1) ?? null,
  lockKeys: (database: string, table: HistoryTable) => [suiteLockKey(database, table)],
} satisfies Pick<MigrationTool, 'readHistory' | 'appliedVersions' | 'versionAfterRevert' | 'lockKeys'>;

/**
 * golang-migrate's bookkeeping, which sql-files keeps too: one version, every migration at or below
 * it counts as applied, and a revert leaves the previous migration in the directory (source Prev).
 * `missing` words the refusal when the directory lacks the recorded version.
 */
export function oneVersionHistory(
  missing: (current: string, migrationsDir: string) => { problem: string; hint: string },
): Pick<MigrationTool, 'appliedVersions' | 'versionAfterRevert'> {
  return {
    appliedVersions(migrations, history, migrationsDir) {
      const current = history.current;
      if (current === null) return [];
      if (!migrations.some((migration) => migration.version === current)) {
        const { problem, hint } = missing(current, migrationsDir);
        throw new MigrationPlanError([problem], hint);
      }
      return migrations
        .filter((migration) => compareVersions(migration.version, current) <= 0)
        .map((migration) => migration.version);
    },
    versionAfterRevert(migrations, migration) {
      const index = migrations.indexOf(migration);
      return index > 0 ? migrations[index - 1].version : null;
    },
  };
}

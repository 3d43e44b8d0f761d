import type pg from 'pg';
import { ActionError } from '../../errors.js';
import type { HistoryState } from '../history.js';
import { qualifiedName, sqlLiteral, type HistoryTable } from '../history-table.js';
import type { FileSource, Migration } from '../types.js';
import { createSchemaSql, ROW_PER_MIGRATION } from './common.js';
import type { MigrationTool } from './tool.js';

// prisma/migrations/<timestamp>_<name>/migration.sql; down.sql next to it is the convention Prisma's
// docs give for down migrations (Prisma itself never runs it).
const FILE = /^(([0-9]+)_([^/]*))\/(migration|down)\.sql$/;

const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Prisma Migrate (prisma-engines schema-engine, sql-schema-connector's postgres flavour):
 * `_prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL,
 * finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at
 * TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL
 * DEFAULT 0)`, one row per attempt, and `SELECT pg_advisory_lock(72707369)` around every command.
 * A migration counts as applied when its row has finished_at and no rolled_back_at; a row with
 * neither is a failed migration that `migrate deploy` refuses to pass (P3009). `migrate deploy`
 * applies every directory whose name has no such row, and `migrate status` reports rows whose
 * directory is missing as "applied to the database but not found locally". So a revert deletes the
 * reverted migrations' rows: the target release then sees exactly its own migrations applied, and
 * the newer release's `migrate deploy` applies the reverted ones again.
 * The version is the directory name (what migration_name holds); Prisma orders directories by name.
 */
export const prisma: MigrationTool = {
  format: 'prisma',
  migrationNoun: 'Prisma migration',
  missingDownPlace: ' (down.sql next to its migration.sql)',

  async load(source: FileSource, files: readonly string[]): Promise<Migration[]> {
    const byVersion = new Map<string, Migration>();
    for (const file of files) {
      const match = FILE.exec(file);
      if (!match) continue;
      const [, version, , name, kind] = match;
      const migration = byVersion.get(version) ?? { version, name };
      migration[kind === 'migration' ? 'up' : 'down'] = {
        path: file,
        sql: await source.readFile(file),
        transactional: true,
        file,
        line: 1,
      };
      byVersion.set(version, migration);
    }
    for (const migration of byVersion.values()) {
      if (!migration.up)
        throw new ActionError(
          `${migration.version}/down.sql in ${source.description} has no migration.sql next to it.`,
        );
    }
    return [...byVersion.values()];
  },
  versionOfFile: (file) => FILE.exec(file)?.[1],

  compareVersions: compareNames,
  versionInput: {
    pattern: /^(0|[0-9]+_[^/\s]*)$/,
    description: 'a migration directory name such as 20240101120000_add_users',
  },
  normalizeVersion: (version) => version,

  defaultHistoryTable: '_prisma_migrations',
  historyColumns: [
    'applied_steps_count',
    'checksum',
    'finished_at',
    'id',
    'logs',
    'migration_name',
    'rolled_back_at',
    'started_at',
  ],
  foreignHistoryColumns: [],
  async readHistory(client: pg.Client, table: HistoryTable): Promise<HistoryState> {
    const { rows } = await client.query<{ migration_name: string; finished: boolean; rolled_back: boolean }>(
      `SELECT migration_name, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM ${qualifiedName(table)} ORDER BY started_at`,
    );
    const failed = rows.filter((row) => !row.finished && !row.rolled_back).map((row) => row.migration_name);
    if (failed.length > 0) {
      throw new ActionError(
        `${table.table} records ${failed.join(', ')} as failed (started, never finished, not rolled back): the schema may be half-changed. Nothing was changed.`,
        {
          hint: `Fix the schema by hand, then record what it is with \`prisma migrate resolve --rolled-back ${failed[0]}\` or \`--applied ${failed[0]}\`, and re-run.`,
        },
      );
    }
    const applied = [
      ...new Set(rows.filter((row) => row.finished && !row.rolled_back).map((row) => row.migration_name)),
    ].sort(compareNames);
    return { exists: true, applied, current: applied.at(-1) ?? null, dirty: false };
  },
  historyWriter(table) {
    const name = qualifiedName(table);
    return {
      createTable: () => [
        ...createSchemaSql(table),
        `CREATE TABLE IF NOT EXISTS ${name} (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);`,
      ],
      // Only verify's scratch database is migrated up by this suite; Prisma's checksum (sha256 of
      // migration.sql) is not known here, and `migrate deploy` does not compare it.
      recordApplied: (version) => [
        `INSERT INTO ${name} (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (gen_random_uuid()::text, '', now(), ${sqlLiteral(version)}, now(), 1);`,
      ],
      recordReverted: (version) => [`DELETE FROM ${name} WHERE migration_name = ${sqlLiteral(version)};`],
      markDirty: () => [],
    };
  },
  // A row per applied migration, as dbmate's and diesel's: the newest row left is the version after a revert.
  appliedVersions: ROW_PER_MIGRATION.appliedVersions,
  versionAfterRevert: ROW_PER_MIGRATION.versionAfterRevert,
  lockKeys: () => [
    { id: '72707369', derivation: "Prisma Migrate's own lock id (schema-engine: SELECT pg_advisory_lock(72707369))" },
  ],

  nonTransactional: {
    guardedByDirtyFlag: false,
    optedOut: () => 'never: Prisma has no opt-out',
    howToOptOut: () => 'split the statement out of down.sql and run it by hand (Prisma has no transaction opt-out)',
  },
  keepsDirtyFlag: false,
};

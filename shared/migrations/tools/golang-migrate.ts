import type pg from 'pg';
import { InputError } from '../../errors.js';
import type { HistoryState } from '../history.js';
import { qualifiedName, type HistoryTable } from '../history-table.js';
import { golangMigrateLockId } from '../lock-id.js';
import type { FileSource } from '../types.js';
import { createSchemaSql, DIGIT_VERSIONS, loadUpDownFiles, oneVersionHistory, suiteLockKey } from './common.js';
import type { MigrationTool } from './tool.js';

// golang-migrate's own pattern (source/parse.go): {version}_{title}.{up|down}.{extension}
const FILE = /^([0-9]+)_(.*)\.(down|up)\.(.*)$/;

function storedVersion(version: string): string {
  if (!/^-?[0-9]+$/.test(version))
    throw new InputError('target-version', `"${version}" is not a golang-migrate version (digits).`);
  return String(BigInt(version));
}

/**
 * golang-migrate: {version}_{title}.{up|down}.{ext} in one directory level; schema_migrations(version
 * bigint, dirty boolean) with a single row; a down's target is the previous migration in the directory.
 */
export const golangMigrate: MigrationTool = {
  format: 'golang-migrate',
  migrationNoun: 'Migration',
  missingDownPlace: ' file',

  load: (source: FileSource, files: readonly string[]) => loadUpDownFiles(source, files, FILE, () => true),
  versionOfFile(file) {
    if (file.includes('/')) return undefined;
    const match = FILE.exec(file);
    return match ? String(BigInt(match[1])) : undefined;
  },

  ...DIGIT_VERSIONS,

  defaultHistoryTable: 'schema_migrations',
  historyColumns: ['dirty', 'version'],
  foreignHistoryColumns: [],
  async readHistory(client: pg.Client, table: HistoryTable): Promise<HistoryState> {
    const { rows } = await client.query<{ version: string; dirty: boolean }>(
      `SELECT version::text AS version, dirty FROM ${qualifiedName(table)}`,
    );
    if (rows.length === 0) return { exists: true, applied: [], current: null, dirty: false };
    return { exists: true, applied: [rows[0].version], current: rows[0].version, dirty: rows[0].dirty };
  },
  // database/postgres/postgres.go SetVersion: TRUNCATE, then INSERT unless the version is nil and clean.
  historyWriter(table) {
    const name = qualifiedName(table);
    const set = (version: string | null, dirty: boolean) => [
      `TRUNCATE ${name};`,
      ...(version === null && !dirty
        ? []
        : [
            `INSERT INTO ${name} (version, dirty) VALUES (${version === null ? '-1' : storedVersion(version)}, ${dirty});`,
          ]),
    ];
    return {
      createTable: () => [
        ...createSchemaSql(table),
        `CREATE TABLE IF NOT EXISTS ${name} (version bigint not null primary key, dirty boolean not null);`,
      ],
      recordApplied: (version) => set(version, false),
      recordReverted: (_version, versionAfter) => set(versionAfter, false),
      markDirty: (targetVersion) => set(targetVersion, true),
    };
  },
  // golang-migrate stores only the current version: everything at or below it in the directory counts as applied.
  ...oneVersionHistory((current, migrationsDir) => ({
    problem: `The history table says version ${current} is applied, but ${migrationsDir} has no migration ${current}.`,
    hint: 'Point migrations-dir at the migrations of the newest release (the one that applied this version); a rollback needs its down files.',
  })),

  // Also the id golang-migrate's CLI computes, whose database name is the URL path ("/app").
  lockKeys: (database, table) => [
    suiteLockKey(database, table),
    {
      id: golangMigrateLockId(`/${database}`, table.schema, table.table),
      derivation: `crc32("/${database}\\0${table.schema}\\0${table.table}") * 1486364155 mod 2^32 (the migrate CLI's id)`,
    },
  ],

  nonTransactional: { guardedByDirtyFlag: true },
  keepsDirtyFlag: true,
};

import type { FileSource, Migration } from '../types.js';
import { addScript, DIGIT_VERSIONS, ROW_PER_MIGRATION, rowPerMigrationWriter } from './common.js';
import type { MigrationTool } from './tool.js';

// diesel: {version}_{name}/up.sql with the version's dashes dropped in the history table.
const FILE = /^(([0-9][0-9-]*)(?:_([^/]*))?)\/(up|down)\.sql$/;

/**
 * diesel (diesel_migrations migration_harness.rs run_migration/revert_migration):
 * `INSERT INTO __diesel_schema_migrations (version) VALUES ($1)` / `DELETE ... WHERE version = $1`,
 * inside the migration's transaction unless metadata.toml says run_in_transaction = false. The table
 * (diesel_migrations/src/migration/setup_migration_table.sql): `(version VARCHAR(50) PRIMARY KEY NOT
 * NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`. diesel takes no lock of its own.
 */
export const diesel: MigrationTool = {
  format: 'diesel',
  migrationNoun: 'diesel migration',
  missingDownPlace: ' file',

  async load(source: FileSource, files: readonly string[]): Promise<Migration[]> {
    const byVersion = new Map<string, Migration>();
    const metadata = new Set(files.filter((file) => /^[^/]+\/metadata\.toml$/.test(file)));
    for (const file of files) {
      const match = FILE.exec(file);
      if (!match) continue;
      const [, dirName, versionText, name = '', direction] = match;
      const metadataFile = `${dirName}/metadata.toml`;
      const transactional = metadata.has(metadataFile)
        ? !/^\s*run_in_transaction\s*=\s*false\s*$/m.test(await source.readFile(metadataFile))
        : true;
      const sql = await source.readFile(file);
      addScript(
        byVersion,
        versionText.replace(/-/g, ''),
        name,
        direction as 'up' | 'down',
        { path: file, sql, transactional, file, line: 1 },
        source,
      );
    }
    return [...byVersion.values()];
  },
  versionOfFile(file) {
    const match = FILE.exec(file);
    return match ? match[2].replace(/-/g, '') : undefined;
  },

  ...DIGIT_VERSIONS,

  defaultHistoryTable: '__diesel_schema_migrations',
  historyColumns: ['run_on', 'version'],
  foreignHistoryColumns: [],
  ...ROW_PER_MIGRATION,
  historyWriter: (table) =>
    rowPerMigrationWriter(
      table,
      'CREATE TABLE IF NOT EXISTS %TABLE% (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);',
    ),
  nonTransactional: {
    guardedByDirtyFlag: false,
    optedOut: () => 'run_in_transaction = false in metadata.toml',
    howToOptOut: () => 'add run_in_transaction = false to its metadata.toml',
  },
  keepsDirtyFlag: false,
};

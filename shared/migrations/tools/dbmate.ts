import { ActionError } from '../../errors.js';
import type { FileSource, Migration, MigrationScript } from '../types.js';
import { DIGIT_VERSIONS, ROW_PER_MIGRATION, rowPerMigrationWriter } from './common.js';
import type { MigrationTool } from './tool.js';

// dbmate: the version is the leading digits of the file name; the file holds both directions.
const FILE = /^(\d+)(?:_(.*))?\.sql$/;

/** Splits a dbmate file into its `-- migrate:up` and `-- migrate:down` sections and their options. */
export function parseDbmateFile(text: string, file: string): { up?: MigrationScript; down?: MigrationScript } {
  const marker = /^--\s*migrate:(up|down)(.*)$/gm;
  const sections: { direction: 'up' | 'down'; options: string; start: number; headerStart: number }[] = [];
  for (const match of text.matchAll(marker)) {
    sections.push({
      direction: match[1] as 'up' | 'down',
      options: match[2],
      start: match.index! + match[0].length,
      headerStart: match.index!,
    });
  }
  const result: { up?: MigrationScript; down?: MigrationScript } = {};
  sections.forEach((section, index) => {
    const end = index + 1 < sections.length ? sections[index + 1].headerStart : text.length;
    if (result[section.direction])
      throw new ActionError(`${file} has more than one "-- migrate:${section.direction}" section.`);
    const body = text.slice(section.start, end);
    const sql = body.replace(/^\r?\n/, '');
    result[section.direction] = {
      path: `${file} (migrate:${section.direction})`,
      sql,
      transactional: !/\btransaction:false\b/.test(section.options),
      file,
      // The marker's line, plus one when the section's text starts on the next line.
      line: text.slice(0, section.headerStart).split('\n').length + (sql.length < body.length ? 1 : 0),
    };
  });
  return result;
}

/**
 * dbmate (pkg/driver/postgres/postgres.go): `insert into <table> (version) values ($1)` after an up,
 * `delete from <table> where version = $1` after a down, each in the migration's transaction unless
 * the section says transaction:false (pkg/dbmate/db.go Migrate/Rollback). The table: `create table if
 * not exists <table> (version varchar primary key)`. dbmate takes no lock of its own.
 */
export const dbmate: MigrationTool = {
  format: 'dbmate',
  migrationNoun: 'dbmate migration',
  missingDownPlace: ' ("-- migrate:down" section)',

  async load(source: FileSource, files: readonly string[]): Promise<Migration[]> {
    const byVersion = new Map<string, Migration>();
    for (const file of files) {
      if (file.includes('/')) continue;
      const match = FILE.exec(file);
      if (!match) continue;
      const [, version, name = ''] = match;
      const sections = parseDbmateFile(await source.readFile(file), file);
      const migration: Migration = { version, name, ...sections };
      if (!migration.up) throw new ActionError(`${file} in ${source.description} has no "-- migrate:up" section.`);
      if (byVersion.has(version))
        throw new ActionError(`Two migrations have version ${version} in ${source.description}.`);
      byVersion.set(version, migration);
    }
    return [...byVersion.values()];
  },
  versionOfFile: (file) => (file.includes('/') ? undefined : FILE.exec(file)?.[1]),

  ...DIGIT_VERSIONS,

  defaultHistoryTable: 'schema_migrations',
  historyColumns: ['version'],
  foreignHistoryColumns: ['dirty'],
  ...ROW_PER_MIGRATION,
  historyWriter: (table) =>
    rowPerMigrationWriter(table, 'CREATE TABLE IF NOT EXISTS %TABLE% (version varchar primary key);'),
  nonTransactional: {
    guardedByDirtyFlag: false,
    optedOut: (direction) => `transaction:false on its migrate:${direction} line`,
    howToOptOut: (direction) => `add transaction:false to its "-- migrate:${direction}" line`,
  },
  keepsDirtyFlag: false,
};

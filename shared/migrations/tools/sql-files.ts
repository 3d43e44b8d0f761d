import type pg from 'pg';
import { InputError } from '../../errors.js';
import { createdObjects } from '../down-lint.js';
import { existingNow } from '../down-checks.js';
import type { HistoryState } from '../history.js';
import { qualifiedName, sqlLiteral, type HistoryTable } from '../history-table.js';
import { executedStatements } from '../plpgsql.js';
import { describeObject, objectKey, statementEffects, type SchemaObject } from '../schema-objects.js';
import type { FileSource, Migration } from '../types.js';
import {
  compareVersions,
  createSchemaSql,
  DIGIT_VERSIONS,
  loadUpDownFiles,
  oneVersionHistory,
  suiteLockKey,
} from './common.js';
import type { MigrationTool } from './tool.js';

// NNNN_name.up.sql / NNNN_name.down.sql, run by hand with psql: golang-migrate's layout without the tool.
const FILE = /^([0-9]+)_(.*)\.(up|down)\.sql$/;
// psql runs a file statement by statement unless it says BEGIN; a file that must do so here says it.
const NO_TRANSACTION = /^\s*--\s*rollback-actions:\s*no-transaction\b/;

/**
 * No tool keeps a history for hand-run files, so the suite keeps one: a log, one row per event,
 * the newest row's version being the schema's. A revert adds its row in the down's transaction.
 */
export const SQL_FILES_HISTORY_TABLE = 'rollback_actions.sql_files_version';

function versionOf(file: string): string | undefined {
  if (file.includes('/')) return undefined;
  const match = FILE.exec(file);
  return match ? String(BigInt(match[1])) : undefined;
}

function insertEvent(table: HistoryTable, version: string | null, event: string, migration: string | null): string {
  return `INSERT INTO ${qualifiedName(table)} (version, event, migration) VALUES (${version === null ? 'NULL' : version}, '${event}', ${migration === null ? 'NULL' : sqlLiteral(migration)});`;
}

function createTable(table: HistoryTable): string[] {
  return [
    ...createSchemaSql(table),
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(table)} (id bigserial PRIMARY KEY, version bigint, event text NOT NULL CHECK (event IN ('initialised', 'applied', 'reverted')), migration text, recorded_at timestamptz NOT NULL DEFAULT now(), recorded_by text NOT NULL DEFAULT current_user);`,
  ];
}

/** A down's drops that must exist before it runs, in revert order, minus what an earlier down re-created. */
async function dropsToFind(downs: readonly Migration[]): Promise<{ object: SchemaObject; file: string }[]> {
  const recreated = new Set<string>();
  const needed: { object: SchemaObject; file: string }[] = [];
  for (const migration of downs) {
    if (!migration.down) continue;
    for (const entry of await executedStatements(migration.down.sql)) {
      if (entry.kind !== 'statement') continue;
      const effects = statementEffects(entry.node);
      for (const object of effects.drops)
        if (object.kind !== 'function' && !recreated.has(objectKey(object)))
          needed.push({ object, file: migration.down.file });
      for (const object of effects.creates) recreated.add(objectKey(object));
    }
  }
  return needed;
}

/** What the ups of migrations newer than the stated version create: none of it may exist yet. */
async function createdAbove(migrations: readonly Migration[], current: string | null) {
  const newer = migrations.filter(
    (migration) => migration.up && (current === null || compareVersions(migration.version, current) > 0),
  );
  const found: { object: SchemaObject; migration: Migration }[] = [];
  for (const migration of newer) {
    const { created } = createdObjects(await executedStatements(migration.up!.sql));
    for (const object of created.values())
      if (object.kind !== 'function' && object.kind !== 'schema') found.push({ object, migration });
  }
  return found;
}

/**
 * Hand-run SQL files (migrations-format: sql-files): the files are golang-migrate's layout, the history
 * table is this suite's own (SQL_FILES_HISTORY_TABLE), created on first use from a stated version.
 * Since that version is only someone's word, the database is checked against it before any revert.
 */
export const sqlFiles: MigrationTool = {
  format: 'sql-files',
  migrationNoun: 'SQL migration',
  missingDownPlace: ' (NNNN_name.down.sql)',

  load: (source: FileSource, files: readonly string[]) =>
    loadUpDownFiles(source, files, FILE, (sql) => !NO_TRANSACTION.test(sql)),
  versionOfFile: versionOf,

  ...DIGIT_VERSIONS,

  defaultHistoryTable: SQL_FILES_HISTORY_TABLE,
  historyColumns: ['event', 'id', 'migration', 'recorded_at', 'recorded_by', 'version'],
  foreignHistoryColumns: ['dirty'],
  async readHistory(client: pg.Client, table: HistoryTable): Promise<HistoryState> {
    const { rows } = await client.query<{ version: string | null }>(
      `SELECT version::text AS version FROM ${qualifiedName(table)} ORDER BY id DESC LIMIT 1`,
    );
    const current = rows[0]?.version ?? null;
    return { exists: true, applied: current === null ? [] : [current], current, dirty: false };
  },
  historyWriter: (table) => ({
    createTable: () => createTable(table),
    recordApplied: (version) => [insertEvent(table, version, 'applied', version)],
    recordReverted: (version, versionAfter) => [insertEvent(table, versionAfter, 'reverted', version)],
    markDirty: () => [],
  }),
  // Like golang-migrate, one version: every migration at or below it counts as applied.
  ...oneVersionHistory((current, migrationsDir) => ({
    problem: `The schema is at version ${current}, but ${migrationsDir} has no migration ${current}.`,
    hint: 'Point migrations-dir at the migrations of the newest release, or state the version the database is really at.',
  })),
  lockKeys: (database, table) => [suiteLockKey(database, table)],
  nonTransactional: {
    guardedByDirtyFlag: false,
    optedOut: () => 'its first line is "-- rollback-actions: no-transaction"',
    howToOptOut: () =>
      'make its first line "-- rollback-actions: no-transaction" (psql runs it statement by statement)',
  },
  keepsDirtyFlag: false,

  statedHistory: {
    initialise: (table, version) => [...createTable(table), insertEvent(table, version, 'initialised', null)],
    async check(client, migrations, current, reverting) {
      const problems: string[] = [];
      const byVersion = new Map(migrations.map((migration) => [migration.version, migration]));
      const downs = reverting.map((version) => byVersion.get(version)).filter((found) => found !== undefined);
      const needed = await dropsToFind(downs);
      const newer = await createdAbove(migrations, current);
      const presence = await existingNow(client, [
        ...needed.map((item) => item.object),
        ...newer.map((item) => item.object),
      ]);
      needed.forEach(({ object, file }, index) => {
        if (!presence[index].present)
          problems.push(
            `${file} drops ${describeObject(object)}, which the database does not have: it is not at version ${current ?? 'none'}.`,
          );
      });
      newer.forEach(({ object, migration }, index) => {
        if (presence[needed.length + index].present)
          problems.push(
            `${migration.up!.file} creates ${describeObject(object)}, which the database already has: it is past version ${current ?? 'none'}.`,
          );
      });
      return problems;
    },
  },
};

/**
 * A runbook's compatibility matrix: one `APP_VERSION: SCHEMA_NUMBER` per line, `#` comments and
 * blank lines ignored (a YAML mapping of strings to integers, read without a YAML library so each
 * error names its line). Returns app version -> schema version as the history table stores it.
 */
export function parseCompatFile(text: string, inputName: string, file: string): Map<string, string> {
  const matrix = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const where = `${file} line ${index + 1}`;
    const match = /^["']?([^"':\s][^"':]*?)["']?\s*:\s*["']?([0-9]+)["']?$/.exec(line);
    if (!match)
      throw new InputError(
        inputName,
        `${where}: "${raw.trim()}" is not "APP_VERSION: SCHEMA_NUMBER" (e.g. "2.3.0: 7").`,
      );
    const [, app, schema] = match;
    if (matrix.has(app)) throw new InputError(inputName, `${where}: app version ${app} is listed twice.`);
    matrix.set(app, String(BigInt(schema)));
  });
  if (matrix.size === 0) throw new InputError(inputName, `${file} maps no app version to a schema number.`);
  return matrix;
}

/** The schema number the matrix gives `appVersion`, or an error naming both inputs. */
export function schemaVersionFor(
  matrix: ReadonlyMap<string, string>,
  appVersion: string,
  appInput: string,
  file: string,
): string {
  const found = matrix.get(appVersion) ?? matrix.get(appVersion.replace(/^v/, ''));
  if (found === undefined)
    throw new InputError(appInput, `"${appVersion}" is not in ${file} (it lists ${[...matrix.keys()].join(', ')}).`);
  return found;
}

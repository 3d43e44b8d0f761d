import { ActionError } from '../errors.js';
import type { FileSource, Migration, MigrationFormat, MigrationScript } from './types.js';

/**
 * The three on-disk layouts, parsed the way the tools themselves parse them, so our idea of
 * "version 4" is exactly golang-migrate's, dbmate's or diesel's.
 */

// golang-migrate's own pattern (source/parse.go): {version}_{title}.{up|down}.{extension}
const GOLANG_MIGRATE_FILE = /^([0-9]+)_(.*)\.(down|up)\.(.*)$/;
// dbmate: the version is the leading digits of the file name; the file holds both directions.
const DBMATE_FILE = /^(\d+)(?:_(.*))?\.sql$/;
// diesel: {version}_{name}/up.sql with the version's dashes dropped in the history table.
const DIESEL_FILE = /^(([0-9][0-9-]*)(?:_([^/]*))?)\/(up|down)\.sql$/;

function compareVersions(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const difference = BigInt(a) - BigInt(b);
    return difference < 0n ? -1 : difference > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export { compareVersions };

function addScript(byVersion: Map<string, Migration>, version: string, name: string, direction: 'up' | 'down', script: MigrationScript, source: FileSource): void {
  const migration = byVersion.get(version) ?? { version, name };
  if (migration[direction]) {
    throw new ActionError(`Two ${direction} migrations have version ${version} in ${source.description}: ${migration[direction]!.path} and ${script.path}.`);
  }
  migration[direction] = script;
  byVersion.set(version, migration);
}

async function loadGolangMigrate(source: FileSource, files: string[], byVersion: Map<string, Migration>): Promise<void> {
  for (const file of files) {
    if (file.includes('/')) continue; // golang-migrate reads one directory level only
    const match = GOLANG_MIGRATE_FILE.exec(file);
    if (!match) continue;
    const [, version, name, direction] = match;
    const sql = await source.readFile(file);
    addScript(byVersion, String(BigInt(version)), name, direction as 'up' | 'down', { path: file, sql, transactional: true, file, line: 1 }, source);
  }
}

/** Splits a dbmate file into its `-- migrate:up` and `-- migrate:down` sections and their options. */
export function parseDbmateFile(text: string, file: string): { up?: MigrationScript; down?: MigrationScript } {
  const marker = /^--\s*migrate:(up|down)(.*)$/gm;
  const sections: { direction: 'up' | 'down'; options: string; start: number; headerStart: number }[] = [];
  for (const match of text.matchAll(marker)) {
    sections.push({ direction: match[1] as 'up' | 'down', options: match[2], start: match.index! + match[0].length, headerStart: match.index! });
  }
  const result: { up?: MigrationScript; down?: MigrationScript } = {};
  sections.forEach((section, index) => {
    const end = index + 1 < sections.length ? sections[index + 1].headerStart : text.length;
    if (result[section.direction]) throw new ActionError(`${file} has more than one "-- migrate:${section.direction}" section.`);
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

async function loadDbmate(source: FileSource, files: string[], byVersion: Map<string, Migration>): Promise<void> {
  for (const file of files) {
    if (file.includes('/')) continue;
    const match = DBMATE_FILE.exec(file);
    if (!match) continue;
    const [, version, name = ''] = match;
    const sections = parseDbmateFile(await source.readFile(file), file);
    const migration: Migration = { version, name, ...sections };
    if (!migration.up) throw new ActionError(`${file} in ${source.description} has no "-- migrate:up" section.`);
    if (byVersion.has(version)) throw new ActionError(`Two migrations have version ${version} in ${source.description}.`);
    byVersion.set(version, migration);
  }
}

async function loadDiesel(source: FileSource, files: string[], byVersion: Map<string, Migration>): Promise<void> {
  const metadata = new Set(files.filter((file) => /^[^/]+\/metadata\.toml$/.test(file)));
  for (const file of files) {
    const match = DIESEL_FILE.exec(file);
    if (!match) continue;
    const [, dirName, versionText, name = '', direction] = match;
    const metadataFile = `${dirName}/metadata.toml`;
    const transactional = metadata.has(metadataFile)
      ? !/^\s*run_in_transaction\s*=\s*false\s*$/m.test(await source.readFile(metadataFile))
      : true;
    const sql = await source.readFile(file);
    addScript(byVersion, versionText.replace(/-/g, ''), name, direction as 'up' | 'down', { path: file, sql, transactional, file, line: 1 }, source);
  }
}

/**
 * The migration version a file of the directory stands for, by name only (no file is read), or
 * undefined when the format does not read it as a migration: enough to know whether a release
 * has a version at all.
 */
export function versionOfFile(file: string, format: MigrationFormat): string | undefined {
  if (format === 'diesel') {
    const match = DIESEL_FILE.exec(file);
    return match ? match[2].replace(/-/g, '') : undefined;
  }
  if (file.includes('/')) return undefined;
  if (format === 'dbmate') return DBMATE_FILE.exec(file)?.[1];
  const match = GOLANG_MIGRATE_FILE.exec(file);
  return match ? String(BigInt(match[1])) : undefined;
}

/** All migrations in the source, oldest first. */
export async function loadMigrations(source: FileSource, format: MigrationFormat): Promise<Migration[]> {
  const files = await source.listFiles();
  const byVersion = new Map<string, Migration>();
  if (format === 'golang-migrate') await loadGolangMigrate(source, files, byVersion);
  else if (format === 'dbmate') await loadDbmate(source, files, byVersion);
  else await loadDiesel(source, files, byVersion);
  return [...byVersion.values()].sort((a, b) => compareVersions(a.version, b.version));
}

/** True when the script has something besides whitespace and comments to run. */
export function hasStatements(script: MigrationScript | undefined): boolean {
  if (!script) return false;
  const withoutComments = script.sql.replace(/\/\*[\s\S]*?\*\//g, '').replace(/--[^\n]*/g, '');
  return withoutComments.trim().replace(/;/g, '').trim() !== '';
}

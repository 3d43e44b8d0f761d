import { compareVersions, hasStatements } from './tools/common.js';
import { migrationTool } from './tools/index.js';
import type { FileSource, Migration, MigrationFormat } from './types.js';

/**
 * Each tool's layout lives in its module (tools/<tool>.ts), parsed the way the tool itself parses
 * it, so our idea of "version 4" is exactly the tool's.
 */

export { compareVersions, hasStatements };

/**
 * The migration version a file of the directory stands for, by name only (no file is read), or
 * undefined when the format does not read it as a migration: enough to know whether a release
 * has a version at all.
 */
export function versionOfFile(file: string, format: MigrationFormat): string | undefined {
  return migrationTool(format).versionOfFile(file);
}

/** All migrations in the source, oldest first. */
export async function loadMigrations(source: FileSource, format: MigrationFormat): Promise<Migration[]> {
  const tool = migrationTool(format);
  const migrations = await tool.load(source, await source.listFiles());
  return migrations.sort((a, b) => tool.compareVersions(a.version, b.version));
}

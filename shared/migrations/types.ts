export const MIGRATION_FORMATS = ['golang-migrate', 'dbmate', 'diesel', 'prisma', 'sql-files'] as const;
export type MigrationFormat = (typeof MIGRATION_FORMATS)[number];

/** One side (up or down) of a migration as found on disk or in git. */
export interface MigrationScript {
  /** Path relative to the migrations directory, for messages. */
  path: string;
  sql: string;
  /**
   * False when the file opts out of the wrapping transaction (dbmate `transaction:false`,
   * diesel `run_in_transaction = false`, golang-migrate has no transactions of its own).
   */
  transactional: boolean;
  /** The file the script is in, relative to the migrations directory (path without dbmate's section label). */
  file: string;
  /** 1-based line of `file` where `sql` starts (dbmate sections start below their marker line). */
  line: number;
}

export interface Migration {
  /** Version as the format's history table stores it (golang-migrate: digits; diesel: dashes removed). */
  version: string;
  name: string;
  up?: MigrationScript;
  /** Absent when the format's down file does not exist; present with blank sql when it is empty. */
  down?: MigrationScript;
}

/** Reads files relative to a migrations directory, from a working tree or from a git ref. */
export interface FileSource {
  /** Human description for errors, e.g. "db/migrations at v1.2.0". */
  readonly description: string;
  /** Paths of files below the directory, relative to it, '/'-separated, recursive. */
  listFiles(): Promise<string[]>;
  readFile(relativePath: string): Promise<string>;
}

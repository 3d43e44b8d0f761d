import type { MigrationFormat } from '../types.js';
import { dbmate } from './dbmate.js';
import { diesel } from './diesel.js';
import { golangMigrate } from './golang-migrate.js';
import { prisma } from './prisma.js';
import { sqlFiles } from './sql-files.js';
import type { MigrationTool } from './tool.js';

const TOOLS: Record<MigrationFormat, MigrationTool> = {
  'golang-migrate': golangMigrate,
  dbmate,
  diesel,
  prisma,
  'sql-files': sqlFiles,
};

/** The module that knows `format`'s layout, versions, history table, lock and how it reverts. */
export function migrationTool(format: MigrationFormat): MigrationTool {
  return TOOLS[format];
}

export type { MigrationTool } from './tool.js';

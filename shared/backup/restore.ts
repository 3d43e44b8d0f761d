import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { formatDuration } from '../duration.js';
import { ActionError, errorMessage } from '../errors.js';
import { pgToolEnv, type PgTarget } from '../postgres/connection.js';
import type { PgClientTool } from '../postgres/pg-tools.js';
import { watchLockWaits } from '../postgres/sessions.js';
import { findExecutable, runProcess } from '../process.js';
import type { BackupFormat } from './metadata.js';
import { withProgressGroup } from './progress.js';

/**
 * Loads a (plaintext) backup into a database: pg_restore for custom and directory archives, psql
 * for plain SQL. Stops at the first error (a restore that "mostly worked" is a broken database),
 * and by default runs in one transaction, so a failed restore leaves the database as it was.
 */
export interface RestoreRequest {
  target: PgTarget;
  backupPath: string;
  format: BackupFormat;
  pgRestore?: PgClientTool;
  psql?: PgClientTool;
  /** pg_restore --clean --if-exists: drop the archive's objects before recreating them. */
  clean: boolean;
  singleTransaction: boolean;
  /** Skip ownership and grants (roles of the source server may not exist here). */
  noOwner: boolean;
  /** Scratch space for decompressing plain dumps. */
  tempDir: string;
  /** Longest wait for any lock: a statement of the restore waiting longer is cancelled; unbounded when absent. */
  lockTimeoutMs?: number;
}

/** A libpq connection string naming only the database, so a name with "=" or spaces stays a name. */
export function dbnameConninfo(database: string): string {
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function plainCompression(file: string): 'none' | 'gzip' | 'zstd' {
  const name = file.replace(/\.(age|enc)$/, '');
  if (name.endsWith('.sql.gz')) return 'gzip';
  if (name.endsWith('.sql.zst')) return 'zstd';
  return 'none';
}

/** A plain dump as SQL text psql can read: decompressed into tempDir when needed. */
async function plainSqlFile(file: string, tempDir: string): Promise<{ sql: string; cleanup: () => Promise<void> }> {
  const compression = plainCompression(file);
  if (compression === 'none') return { sql: file, cleanup: async () => undefined };
  const sql = path.join(tempDir, `${path.basename(file).replace(/\.(gz|zst)$/, '')}`);
  if (compression === 'gzip') {
    await pipeline(createReadStream(file), createGunzip(), createWriteStream(sql, { mode: 0o600 }));
  } else {
    const zstd = findExecutable('zstd');
    if (!zstd)
      throw new ActionError(`${path.basename(file)} is zstd-compressed SQL, and the zstd program is not on PATH.`, {
        hint: 'Install it first (ubuntu: sudo apt-get install -y zstd).',
      });
    await runProcess(zstd, ['-d', '-q', '-f', file, '-o', sql]);
  }
  return { sql, cleanup: () => rm(sql, { force: true }) };
}

export async function restoreBackup(request: RestoreRequest): Promise<void> {
  // A name of its own, so the lock watch finds exactly this restore's sessions.
  const applicationName = `rollback-actions restore ${randomBytes(4).toString('hex')}`;
  const watch = request.lockTimeoutMs
    ? await watchLockWaits(request.target, applicationName, request.lockTimeoutMs)
    : undefined;
  try {
    await runRestoreTool(request, applicationName);
  } catch (error) {
    if (await watch?.stop()) {
      throw new ActionError(
        `It waited longer than lock-timeout (${formatDuration(request.lockTimeoutMs!)}) for a lock, and was cancelled: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await watch?.stop();
  }
}

async function runRestoreTool(request: RestoreRequest, applicationName: string): Promise<void> {
  const env = pgToolEnv(request.target, { applicationName });
  if (request.format === 'plain') {
    if (!request.psql) throw new Error('restoreBackup: psql is required for plain dumps');
    if (request.noOwner) {
      throw new ActionError(
        'Input "no-owner" only works with custom and directory backups: a plain SQL dump carries its ownership statements in the SQL itself.',
      );
    }
    const { sql, cleanup } = await plainSqlFile(request.backupPath, request.tempDir);
    try {
      // Query results (set_config, setval) are noise; errors still reach stderr.
      const args = [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '--no-password',
        '--output=/dev/null',
        '-d',
        dbnameConninfo(request.target.database),
        '-f',
        sql,
      ];
      if (request.singleTransaction) args.splice(4, 0, '--single-transaction');
      await withProgressGroup(`psql: restore into ${request.target.database}`, (log) =>
        runProcess(request.psql!.path, args, {
          env: pgToolEnv(request.target, { applicationName, options: '--client-min-messages=warning' }),
          onStderrLine: log,
          onStdoutLine: log,
        }),
      );
    } finally {
      await cleanup();
    }
    return;
  }
  if (!request.pgRestore) throw new Error('restoreBackup: pg_restore is required for archives');
  const args = ['--verbose', '--exit-on-error', '--no-password', `--dbname=${dbnameConninfo(request.target.database)}`];
  if (request.clean) args.push('--clean', '--if-exists');
  if (request.singleTransaction) args.push('--single-transaction');
  if (request.noOwner) args.push('--no-owner', '--no-privileges');
  args.push(request.backupPath);
  await withProgressGroup(`pg_restore: restore into ${request.target.database}`, (log) =>
    runProcess(request.pgRestore!.path, args, { env, onStderrLine: log, onStdoutLine: log }),
  );
}

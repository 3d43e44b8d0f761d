import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { removePartial } from '../cancellation.js';
import { pgToolEnv, type PgTarget } from '../postgres/connection.js';
import type { PgClientTool } from '../postgres/pg-tools.js';
import { runProcess } from '../process.js';
import type { CompressionPlan } from './compression.js';
import { writingFile } from './disk-space.js';
import type { BackupFormat } from './metadata.js';
import { formatBytes, withProgressGroup } from './progress.js';

/**
 * Runs pg_dump: the password through the environment (never argv), --verbose progress lines in a
 * collapsible group with a size heartbeat, the dump written straight to its file (or folder).
 */
export interface DumpRequest {
  target: PgTarget;
  pgDump: PgClientTool;
  format: BackupFormat;
  jobs: number;
  plan: CompressionPlan;
  schemaOnly: boolean;
  tables: string[];
  excludeTables: string[];
  snapshot?: string;
  output: string;
  /** Longest wait for a table lock (pg_dump --lock-wait-timeout); unbounded when absent. */
  lockWaitTimeoutMs?: number;
  /** About how many bytes the dump needs, for a full disk's message (the tables' size, before compression). */
  estimatedBytes?: number;
}

const FORMAT_FLAG: Record<BackupFormat, string> = { custom: 'c', directory: 'd', plain: 'p' };

export function pgDumpArgs(request: DumpRequest): string[] {
  const args = [`--format=${FORMAT_FLAG[request.format]}`, `--file=${request.output}`, '--verbose', '--no-password'];
  if (request.jobs > 1) args.push(`--jobs=${request.jobs}`);
  args.push(...request.plan.pgDumpArgs);
  if (request.snapshot) args.push(`--snapshot=${request.snapshot}`);
  if (request.lockWaitTimeoutMs !== undefined && request.lockWaitTimeoutMs > 0)
    args.push(`--lock-wait-timeout=${Math.round(request.lockWaitTimeoutMs)}`);
  if (request.schemaOnly) args.push('--schema-only');
  for (const table of request.tables) args.push(`--table=${table}`);
  for (const table of request.excludeTables) args.push(`--exclude-table=${table}`);
  // An include pattern that matches nothing is a typo, not "back up nothing".
  if (request.tables.length > 0) args.push('--strict-names');
  // Plain SQL: restorable over an existing database too, and with names the completeness check can find.
  if (request.format === 'plain') args.push('--clean', '--if-exists', '--quote-all-identifiers');
  return args;
}

async function sizeOf(output: string): Promise<number> {
  const info = await stat(output).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(output))
    total += (await stat(path.join(output, name)).catch(() => ({ size: 0 }))).size;
  return total;
}

export async function runPgDump(request: DumpRequest): Promise<void> {
  try {
    await writingFile(
      request.output,
      async () => Math.max(request.estimatedBytes ?? 0, await sizeOf(request.output)),
      () =>
        withProgressGroup(
          `pg_dump ${request.target.database} (${request.format}${request.jobs > 1 ? `, ${request.jobs} jobs` : ''})`,
          (log) =>
            runProcess(request.pgDump.path, pgDumpArgs(request), {
              env: pgToolEnv(request.target),
              onStderrLine: log,
              onStdoutLine: log,
            }),
          { everyMs: 10_000, describe: async () => `${formatBytes(await sizeOf(request.output))} written so far` },
        ),
    );
  } catch (error) {
    // A half-written dump must never be mistaken for a backup.
    removePartial(request.output);
    throw error;
  }
}

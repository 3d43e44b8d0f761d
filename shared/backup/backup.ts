import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cancellation, journal, removePartial } from '../cancellation.js';
import { ActionError } from '../errors.js';
import { describeTarget, serverVersion, withClient, withDatabase, type PgTarget } from '../postgres/connection.js';
import { createDatabase, dropDatabase, tableRowCounts } from '../postgres/databases.js';
import { findPgTool, type PgClientTool } from '../postgres/pg-tools.js';
import { runProcess } from '../process.js';
import { checkListing, checkPlainDump, listArchive, type ExpectedTables } from './archive.js';
import { backupChecksum } from './checksum.js';
import { describeCompression, planCompression, type Compression, type CompressionPlan } from './compression.js';
import { writingFile } from './disk-space.js';
import { runPgDump } from './dump.js';
import { ENCRYPTED_SUFFIX, encryptBackup, type BackupKey } from './encryption.js';
import { metadataPathFor, backupFileName } from './names.js';
import type { BackupFormat, BackupMetadata } from './metadata.js';
import { writeMetadata } from './metadata.js';
import { restoreBackup } from './restore.js';
import { checkDumpFits, type SizeGate } from './size-gate.js';
import { readArchiveToEnd } from './verify-full.js';
import { DumpSnapshot, qualified, type CatalogTable } from './snapshot.js';

/**
 * A verified, checksummed backup: the library behind backup-db, and behind the safety backup
 * restore-db takes before it replaces a database. Two phases, so every check that can fail without
 * side effects (connection, server version, a fitting pg_dump, compression support) runs before
 * anything is written: prepareBackup, then takeBackup.
 */
export interface BackupRequest {
  target: PgTarget;
  format: BackupFormat;
  jobs: number;
  compression: Compression;
  schemaOnly: boolean;
  tables: string[];
  excludeTables: string[];
  label: string;
  appVersion?: string;
  encryptionKey?: BackupKey;
  verify: 'archive' | 'full' | 'restore';
  pgBinDir?: string;
  outputDir: string;
  /** File name stem: the artifact name, usually. */
  baseName: string;
  kind: BackupMetadata['kind'];
  artifact?: { name: string; retentionDays: number };
  /** Row counts are recorded for at most this many (largest) tables. */
  rowCountLimit?: number;
  /** Longest wait for a table lock (pg_dump --lock-wait-timeout); unbounded when absent. */
  lockWaitTimeoutMs?: number;
  /** Tables with more data than this get an estimated row count instead of an exact one. */
  rowCountMaxBytes?: number;
  /** Stop before dumping when the data cannot fit (free disk, artifact limit); undefined: no gate. */
  sizeGate?: SizeGate;
}

export interface PreparedBackup {
  request: BackupRequest;
  server: { text: string; major: number };
  pgDump: PgClientTool;
  pgRestore?: PgClientTool;
  psql?: PgClientTool;
  plan: CompressionPlan;
  /** Where the dump will be written (before encryption). */
  output: string;
  /** The open snapshot the dump will use, with what was read in it; takeBackup closes it. */
  snapshot: DumpSnapshot;
  tables: CatalogTable[];
  schemaVersion: BackupMetadata['schemaVersion'];
  /** How long prepareBackup took (connection, catalog, client programs). */
  prepareMs: number;
}

export interface BackupResult {
  path: string;
  metadataPath: string;
  metadata: BackupMetadata;
  checksum: string;
  size: number;
}

const DEFAULT_ROW_COUNT_LIMIT = 100;

/**
 * Everything that can fail without writing anything: the connection, the server version, a fitting
 * pg_dump (and pg_restore/psql), compression support, the output path. The snapshot transaction is
 * opened at the same time as the client programs are probed, so the dump starts without a gap.
 */
export async function prepareBackup(request: BackupRequest): Promise<PreparedBackup> {
  const started = Date.now();
  const snapshot = await DumpSnapshot.open(request.target, request.lockWaitTimeoutMs);
  try {
    const server = await serverVersion(snapshot.client);
    core.info(`Connected to ${describeTarget(request.target)}: PostgreSQL ${server.text}.`);
    const needsPsql = request.format === 'plain' && request.verify === 'restore';
    // The catalog is read in the snapshot while the client programs are probed; one query after the
    // other, so a bad table pattern is the error reported, not the aborted transaction it leaves.
    const catalog = (async () =>
      [await snapshot.tables(request.tables, request.excludeTables), await snapshot.schemaVersion()] as const)();
    catalog.catch(() => undefined);
    const lookups = await Promise.allSettled([
      findPgTool('pg_dump', server.major, request.pgBinDir),
      request.format === 'plain' ? undefined : findPgTool('pg_restore', server.major, request.pgBinDir),
      needsPsql ? findPgTool('psql', server.major, request.pgBinDir) : undefined,
    ]);
    // Looked up together (each probe starts a process), reported in order: pg_dump's problem first.
    for (const result of lookups) if (result.status === 'rejected') throw result.reason;
    const [pgDump, pgRestore, psql] = lookups.map(
      (result) => (result as PromiseFulfilledResult<PgClientTool | undefined>).value,
    );
    if (!pgDump) throw new Error('unreachable: the pg_dump lookup returned nothing');
    core.info(`Using pg_dump ${pgDump.version} (${pgDump.path}).`);
    const plan = planCompression(request.compression, request.format, pgDump);
    await mkdir(request.outputDir, { recursive: true, mode: 0o700 });
    // zstd-compressed plain SQL is dumped as text first (checked), then compressed.
    const output = path.join(
      request.outputDir,
      backupFileName(request.baseName, request.format, plan.externalZstd ? '.sql' : plan.plainSuffix, false),
    );
    for (const existing of [
      output,
      `${output}${ENCRYPTED_SUFFIX}`,
      `${output}.zst`,
      `${output}.zst${ENCRYPTED_SUFFIX}`,
    ]) {
      if (existsSync(existing))
        throw new ActionError(
          `${existing} already exists; a backup never overwrites another. Choose another artifact-name or output-dir.`,
        );
    }
    const [tables, schemaVersion] = await catalog;
    if (request.sizeGate && !request.schemaOnly) {
      const dataBytes = tables.reduce((total, table) => total + table.dataBytes, 0);
      const fits = await checkDumpFits({
        dataBytes,
        tableCount: tables.length,
        outputDir: request.outputDir,
        upload: Boolean(request.artifact),
        gate: request.sizeGate,
      });
      core.info(`Size gate: ${fits}.`);
    }
    return {
      request,
      server,
      pgDump,
      pgRestore,
      psql,
      plan,
      output,
      snapshot,
      tables,
      schemaVersion,
      prepareMs: Date.now() - started,
    };
  } catch (error) {
    await snapshot.close();
    throw error;
  }
}

function expectedTables(tables: CatalogTable[], schemaOnly: boolean): ExpectedTables {
  return { tables, withData: schemaOnly ? [] : tables.filter((table) => table.kind === 'r') };
}

async function verifyDump(prepared: PreparedBackup, expected: ExpectedTables): Promise<string> {
  const { request, output } = prepared;
  if (request.format === 'plain') {
    const problems = await checkPlainDump(output, prepared.plan.compression.method === 'gzip', expected);
    if (problems.length)
      throw new ActionError(`The plain dump ${path.basename(output)} is incomplete: ${problems.join('; ')}.`);
    return `plain SQL complete: ${expected.tables.length} table(s) created${request.schemaOnly ? '' : ` and ${expected.withData.length} filled`}`;
  }
  const listing = await listArchive(prepared.pgRestore!, output);
  const problems = checkListing(listing, expected);
  if (problems.length)
    throw new ActionError(
      `The archive ${path.basename(output)} is incomplete: pg_restore --list shows ${problems.join('; ')}.`,
    );
  const listed = `pg_restore --list: ${listing.entries.length} entries, all ${expected.tables.length} table(s)${request.schemaOnly ? '' : ` and ${expected.withData.length} with data`}`;
  return request.verify === 'full' ? `${listed}; ${await readArchiveToEnd(prepared.pgRestore!, output)}` : listed;
}

/** Restores the dump into a scratch database on the same server and compares the row counts. */
async function verifyByRestore(prepared: PreparedBackup, rowCounts: Record<string, number>): Promise<string> {
  const { request } = prepared;
  const name =
    `rbverify_${request.target.database}`.slice(0, 40) + `_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  core.info(`Verifying by restoring into the scratch database ${name}.`);
  await createDatabase(request.target, name, { template: 'template0' }).catch((error: unknown) => {
    throw new ActionError(
      `verify "restore" needs to create a scratch database on the server and could not: ${(error as Error).message}`,
      {
        hint: 'Grant the backup user CREATEDB, or use verify "archive".',
      },
    );
  });
  let verified = false;
  try {
    const scratch = withDatabase(request.target, name);
    await restoreBackup({
      target: scratch,
      backupPath: prepared.output,
      format: request.format,
      pgRestore: prepared.pgRestore,
      psql: prepared.psql,
      clean: false,
      singleTransaction: true,
      noOwner: request.format !== 'plain',
      tempDir: request.outputDir,
    });
    const restored = await withClient(scratch, (client) => tableRowCounts(client));
    const mismatches = Object.entries(rowCounts).filter(([table, count]) => restored[table] !== count);
    if (mismatches.length) {
      throw new ActionError(
        `The backup restored into a scratch database with different row counts: ${mismatches.map(([table, count]) => `${table} has ${restored[table] ?? 'no table'}, expected ${count}`).join('; ')}.`,
      );
    }
    verified = true;
    return `restored into a scratch database: ${Object.keys(rowCounts).length} table row count(s) match`;
  } finally {
    await dropDatabase(request.target, name).then(
      () => verified || journal.cleanup(`dropped the scratch database ${name}`),
      (error: unknown) => core.warning(`Could not drop the scratch database ${name}: ${(error as Error).message}`),
    );
  }
}

function runContext(): BackupMetadata['run'] {
  if (!process.env.GITHUB_RUN_ID) return null;
  return {
    repository: process.env.GITHUB_REPOSITORY ?? null,
    runId: process.env.GITHUB_RUN_ID ?? null,
    runAttempt: process.env.GITHUB_RUN_ATTEMPT ?? null,
    workflow: process.env.GITHUB_WORKFLOW ?? null,
  };
}

/**
 * Dumps, verifies, compresses, encrypts and records the backup. Files are created readable by
 * this user only (umask 077 for pg_dump and zstd too), also in an output-dir that already exists.
 * Until the metadata is written every file of it is partial: a failure or a cancellation removes
 * them all (cancellation.ts), so nothing half-done can pass for a backup or keep the disk full.
 */
export async function takeBackup(prepared: PreparedBackup): Promise<BackupResult> {
  const previousUmask = process.umask(0o077);
  try {
    return await dumpAndRecord(prepared);
  } finally {
    process.umask(previousUmask);
  }
}

async function dumpAndRecord(prepared: PreparedBackup): Promise<BackupResult> {
  const started = Date.now();
  const { request, output } = prepared;
  const createdAt = new Date();
  let backupPath = output;
  const { snapshot, tables, schemaVersion } = prepared;
  const partials = [output, `${output}.zst`, `${output}${ENCRYPTED_SUFFIX}`, `${output}.zst${ENCRYPTED_SUFFIX}`];
  partials.push(...partials.map(metadataPathFor));
  const unregister = partials.map((file) => cancellation.partialFile(file));
  // What each phase took: the cost of everything beyond pg_dump, phase by phase (rowCounts runs beside
  // the dump and the checksum beside the archive check, so these overlap).
  const timings: Record<string, number> = { prepare: prepared.prepareMs };
  const timed = async <T>(phase: string, work: Promise<T>): Promise<T> => {
    const phaseStarted = Date.now();
    try {
      return await work;
    } finally {
      timings[phase] = Date.now() - phaseStarted;
    }
  };
  try {
    let rowCounts: Record<string, number> = {};
    let estimatedRowCounts: Record<string, number> = {};
    try {
      const counted = request.schemaOnly
        ? Promise.resolve({ exact: {}, estimated: {} })
        : snapshot.rowCounts(
            tables.filter((table) => table.kind === 'r'),
            request.rowCountLimit ?? DEFAULT_ROW_COUNT_LIMIT,
            request.rowCountMaxBytes,
          );
      // Counting runs beside the dump, in the same snapshot: it costs no wall time of its own.
      const [dumped, counts] = await Promise.allSettled([
        timed(
          'dump',
          runPgDump({
            target: request.target,
            pgDump: prepared.pgDump,
            format: request.format,
            jobs: request.jobs,
            plan: prepared.plan,
            schemaOnly: request.schemaOnly,
            tables: request.tables,
            excludeTables: request.excludeTables,
            snapshot: snapshot.id,
            output,
            lockWaitTimeoutMs: request.lockWaitTimeoutMs,
            estimatedBytes: tables.reduce((total, table) => total + table.dataBytes, 0),
          }),
        ),
        timed('rowCounts', counted),
      ]);
      if (dumped.status === 'rejected') throw dumped.reason;
      if (counts.status === 'rejected') throw counts.reason;
      rowCounts = counts.value.exact;
      estimatedRowCounts = counts.value.estimated;
    } finally {
      await snapshot.close();
    }

    const expected = expectedTables(tables, request.schemaOnly);
    // When the dump is stored as written, its checksum is read while the archive is checked.
    const storedAsWritten = !prepared.plan.externalZstd && !request.encryptionKey;
    const earlyChecksum = storedAsWritten ? timed('checksum', backupChecksum(output)) : undefined;
    earlyChecksum?.catch(() => undefined);
    let archiveCheck = await timed('verify', verifyDump(prepared, expected));
    core.info(`Verified: ${archiveCheck}.`);
    journal.step(`Dumped ${path.basename(output)} and verified it (${archiveCheck})`);
    const restoreCheck =
      request.verify === 'restore' ? await timed('verifyRestore', verifyByRestore(prepared, rowCounts)) : null;
    if (restoreCheck) core.info(`Verified: ${restoreCheck}.`);

    if (prepared.plan.externalZstd) {
      const level = prepared.plan.compression.level ?? 3;
      await writingFile(
        `${output}.zst`,
        async () => (await stat(output)).size,
        () =>
          runProcess(prepared.plan.externalZstd!, ['-q', `-${level}`, '-T0', '--rm', output, '-o', `${output}.zst`]),
      );
      backupPath = `${output}.zst`;
      // The SQL was read to its end before; with verify "full" the compressed file is read to its end too.
      if (request.verify === 'full') {
        await runProcess(prepared.plan.externalZstd, ['-q', '-t', backupPath]);
        archiveCheck += '; the .zst file read to its end (zstd -t)';
      }
    }
    let encryption: BackupMetadata['encryption'] = null;
    if (request.encryptionKey) {
      const encrypted = await encryptBackup(backupPath, request.encryptionKey);
      backupPath = encrypted.path;
      encryption = encrypted.record;
      core.info(
        `Encrypted in the age format (${encryption.kdf === 'scrypt' ? 'passphrase' : `recipient type ${encryption.kdf}`}, from encryption-key).`,
      );
    }

    const checksum = earlyChecksum ? await earlyChecksum : await timed('checksum', backupChecksum(backupPath));
    const metadataPath = metadataPathFor(backupPath);
    const metadata: BackupMetadata = {
      metadataVersion: 1,
      kind: request.kind,
      createdAt: createdAt.toISOString(),
      label: request.label,
      appVersion: request.appVersion ?? null,
      database: request.target.database,
      source: describeTarget(request.target),
      serverVersion: prepared.server.text,
      pgDump: { version: prepared.pgDump.version, major: prepared.pgDump.major },
      format: request.format,
      compression: describeCompression(prepared.plan.compression),
      compressedBy:
        prepared.plan.compression.method === 'none' ? null : prepared.plan.externalZstd ? 'zstd-program' : 'pg_dump',
      jobs: request.jobs,
      schemaOnly: request.schemaOnly,
      tables: request.tables,
      excludeTables: request.excludeTables,
      file: path.basename(backupPath),
      size: checksum.size,
      checksum: { algorithm: 'sha256', value: checksum.sha256, ...(checksum.files ? { files: checksum.files } : {}) },
      encryption,
      schemaVersion,
      dumpedTables: tables.map(qualified),
      rowCounts,
      ...(Object.keys(estimatedRowCounts).length ? { estimatedRowCounts } : {}),
      rowCountsCover: request.schemaOnly
        ? 'none'
        : Object.keys(estimatedRowCounts).length > 0
          ? 'size-limited'
          : Object.keys(rowCounts).length < expected.withData.length
            ? 'largest-tables'
            : 'all-tables',
      consistentSnapshot: Boolean(snapshot.id),
      verification: { archive: archiveCheck, restore: restoreCheck },
      durationMs: Date.now() - started,
      timings,
      artifact: request.artifact ?? null,
      run: runContext(),
    };
    await writingFile(
      metadataPath,
      () => 64 * 1024,
      () => writeMetadata(metadataPath, metadata),
    );
    for (const done of unregister) done();
    return { path: backupPath, metadataPath, metadata, checksum: checksum.sha256, size: checksum.size };
  } catch (error) {
    // A dump that failed a check is not a backup: leave nothing behind that could pass for one.
    for (const leftover of partials) removePartial(leftover);
    for (const done of unregister) done();
    throw error;
  }
}

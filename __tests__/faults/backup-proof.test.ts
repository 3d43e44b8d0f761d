import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAction, type ActionResult } from '../../testkit/action-harness.js';
import { startStandIns, type StandIns } from '../../testkit/backup-stand-ins.js';
import { writeFixture, type WrittenFixture } from '../migrations/fixtures.js';
import { freshDatabases, historyRows, migrateUp } from '../migrations/helpers.js';
import type { TestDatabase } from '../../testkit/database.js';

/**
 * apply-down-migrations' backup-checksum is proof of a backup only when a backup with that
 * checksum exists: its metadata in backup-db's output directory on this runner (a backup earlier
 * in the same job), or in an artifact of this workflow run (the rollback workflow's backup job),
 * read from the stored zip by ranged reads, for this very database. Any 64 hex digits are not.
 */
const database = freshDatabases();
let standIns: StandIns;
let fixture: WrittenFixture;

beforeAll(async () => {
  standIns = await startStandIns();
  fixture = writeFixture('golang-migrate');
});
afterAll(async () => {
  await standIns.stop();
});

async function migrated(prefix: string): Promise<TestDatabase> {
  const db = await database(prefix);
  await migrateUp(fixture, db);
  return db;
}

async function revert(db: TestDatabase, checksum: string, env: Record<string, string> = {}): Promise<ActionResult> {
  return await runAction('apply-down-migrations', {
    inputs: {
      'database-url': db.url,
      'migrations-dir': fixture.dir,
      'target-version': '5',
      'backup-checksum': checksum,
    },
    env,
  });
}

it('a checksum no backup has: refused before touching the database, saying where it looked, with a job summary', async () => {
  const db = await migrated('proof_fake');
  const result = await revert(db, 'a'.repeat(64));
  expect(result.exitCode).toBe(1);
  expect(result.errors[0]).toContain(
    `Input "backup-checksum" is ${'a'.repeat(64)}, but no backup with that checksum was found: no *.metadata.json in ${result.runnerTemp}/rollback-backups on this runner records it, and the artifact service is not reachable from this step. Nothing was changed.`,
  );
  expect(result.summary).toContain('## apply-down-migrations failed');
  expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '6', dirty: false }]);
});

it('a backup taken earlier in the same job: found by its metadata on this runner', async () => {
  const db = await migrated('proof_local');
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'proof-job-'));
  const backup = await runAction('backup-db', {
    inputs: { 'database-url': db.url, upload: false },
    env: { RUNNER_TEMP: runnerTemp },
  });
  expect(backup.exitCode).toBe(0);
  const result = await revert(db, backup.outputs.checksum, { RUNNER_TEMP: runnerTemp });
  expect(result.errors).toEqual([]);
  expect(result.exitCode).toBe(0);
  expect(result.log).toContain(`Backup verified: metadata file ${backup.outputs['metadata-path']}`);
  expect(result.summary).toContain(
    `| Backup | backup-db checksum ${backup.outputs.checksum.slice(0, 16)}…, found in metadata file ${backup.outputs['metadata-path']} |`,
  );
  expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '5', dirty: false }]);
});

it('a backup taken in an earlier job of the run (the rollback workflow): found in its artifact, by reading only the zip directory and the metadata', async () => {
  const db = await migrated('proof_artifact');
  // Big enough (about 1 MB stored) that reading all of the artifact would show.
  await db.query(
    'CREATE TABLE filler AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) AS payload FROM generate_series(1, 20000) g',
  );
  const runId = 7301;
  const backup = await runAction('backup-db', {
    inputs: { 'database-url': db.url, label: 'production', 'encryption-key': 'proof-artifact-key-0123456789' },
    env: standIns.env(runId),
  });
  expect(backup.exitCode).toBe(0);
  const stored = standIns.artifacts.find(backup.outputs['artifact-name'])!;
  const logged = standIns.artifacts.blobs.log.length;

  // Another job: another runner, so nothing on disk; the same workflow run.
  const result = await revert(db, backup.outputs.checksum, standIns.env(runId));
  expect(result.errors).toEqual([]);
  expect(result.exitCode).toBe(0);
  expect(result.log).toContain(
    `Backup verified: artifact "${backup.outputs['artifact-name']}" (id ${stored.id}) of this workflow run`,
  );
  const reads = standIns.artifacts.blobs.log.slice(logged).filter((entry) => entry.operation === 'get-blob');
  expect(reads.every((entry) => entry.status === 206)).toBe(true);
  const read = reads.reduce((total, entry) => total + entry.bytes, 0);
  console.log(`backup-checksum proof from an artifact: ${reads.length} ranged reads, ${read} of ${stored.size} bytes`);
  expect(read).toBeLessThan(stored.size / 4);
  expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '5', dirty: false }]);
});

it('a real backup of another database: refused', async () => {
  const db = await migrated('proof_target');
  const other = await migrated('proof_other');
  const runId = 7302;
  const backup = await runAction('backup-db', { inputs: { 'database-url': other.url }, env: standIns.env(runId) });
  expect(backup.exitCode).toBe(0);
  const result = await revert(db, backup.outputs.checksum, standIns.env(runId));
  expect(result.exitCode).toBe(1);
  expect(result.errors[0]).toContain(
    `is of database "${other.name}", not of "${db.name}", which this step would change. Nothing was changed.`,
  );
  expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '6', dirty: false }]);
});

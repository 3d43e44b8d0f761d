import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runAction, type ActionResult } from '../../testkit/action-harness.js';
import { createTestDatabase, type TestDatabase } from '../../testkit/database.js';
import { locksOn, sessionsOn } from './support.js';

/**
 * restore-db mode "replace" with the application still there: a session idle in a transaction
 * (holding a lock on a table the restore drops), or a prepared transaction that holds one with no
 * session at all. Never a silent wait: refused with the sessions listed, or the sessions ended on
 * request, and every wait bounded by lock-timeout.
 */
let db: TestDatabase;
let backupPath: string;

beforeAll(async () => {
  db = await createTestDatabase('faults_replace');
  await db.query(
    'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL); INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 50) g;',
  );
  const backup = await runAction('backup-db', {
    inputs: {
      'database-url': db.url,
      upload: false,
      'output-dir': mkdtempSync(path.join(os.tmpdir(), 'faults-replace-')),
    },
  });
  expect(backup.exitCode).toBe(0);
  backupPath = backup.outputs.path;
});

afterAll(async () => {
  // A prepared transaction outlives its session, and blocks DROP DATABASE, even when a test failed.
  const { rows } = await db.query<{ gid: string }>(
    'SELECT gid FROM pg_prepared_xacts WHERE database = current_database()',
  );
  for (const row of rows) await db.query(`ROLLBACK PREPARED '${row.gid}'`);
  await db.drop();
});

/** An application session idle in a transaction that has read `accounts` (so holds a lock on it). */
async function idleInTransaction(application: string, lock = 'ACCESS SHARE'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url, application_name: application });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`BEGIN; LOCK TABLE accounts IN ${lock} MODE; SELECT count(*) FROM accounts;`);
  return client;
}

async function replace(inputs: Record<string, string> = {}): Promise<ActionResult> {
  return await runAction('restore-db', {
    inputs: { 'database-url': db.url, path: backupPath, mode: 'replace', ...inputs },
  });
}

async function balanceOf(id: number): Promise<number> {
  const { rows } = await db.query<{ balance: number }>('SELECT balance FROM accounts WHERE id = $1', [id]);
  return rows[0].balance;
}

it('a session idle in a transaction: refused before anything is done, the session listed with user, application, state and since when', async () => {
  await db.query('UPDATE accounts SET balance = 7 WHERE id = 1');
  const app = await idleInTransaction('billing-worker');
  try {
    const started = Date.now();
    const result = await replace();
    expect(result.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const error = result.errors[0];
    expect(error).toContain(
      `1 other session(s) are connected to ${db.name}, which mode "replace" would drop and restore; nothing was downloaded or changed.`,
    );
    expect(error).toMatch(
      /- pid \d+, user postgres, application "billing-worker", from 127\.0\.0\.1, idle in transaction since \d{4}-\d\d-\d\dT[\d:.]+Z \([\d.]+m?s\), last statement: BEGIN; LOCK TABLE accounts IN ACCESS SHARE MODE; SELECT count\(\*\) FROM accounts;/,
    );
    expect(error).toContain('Hint: Stop the application');
    expect(result.summary).toContain('## restore-db failed');
    expect(result.summary).toContain('application "billing-worker"');
    // Nothing changed: no safety backup was taken, the data and the session are as they were.
    expect(result.outputs['safety-backup-path']).toBeUndefined();
    expect(await balanceOf(1)).toBe(7);
    await expect(app.query('SELECT 1')).resolves.toBeDefined();
  } finally {
    await app.end().catch(() => undefined);
  }
});

it('with terminate-connections: true the session is ended after the safety backup, and the restore succeeds', async () => {
  await db.query('UPDATE accounts SET balance = 9 WHERE id = 2');
  const app = await idleInTransaction('billing-worker');
  const result = await replace({ 'terminate-connections': 'true' });
  expect(result.errors).toEqual([]);
  expect(result.exitCode).toBe(0);
  expect(result.log).toMatch(
    /Ending session pid \d+, user postgres, application "billing-worker", .*idle in transaction since .* \(terminate-connections: true\)\./,
  );
  // The safety backup came first, so it holds what the session could still have written.
  const safetyAt = result.log.indexOf('Safety backup:');
  expect(safetyAt).toBeGreaterThan(0);
  expect(result.log.indexOf('Ending session')).toBeGreaterThan(safetyAt);
  await expect(app.query('SELECT 1')).rejects.toThrow(/terminat|connection error/);
  await app.end().catch(() => undefined);
  expect(await balanceOf(2)).toBe(100);
  expect(result.summary).toContain('— verified');
  expect(await sessionsOn(db.name)).toEqual([]);
});

it('lock-timeout bounds the safety backup: a session holding an exclusive lock makes it fail in seconds, nothing replaced', async () => {
  await db.query('UPDATE accounts SET balance = 11 WHERE id = 3');
  const app = await idleInTransaction('report-job', 'ACCESS EXCLUSIVE');
  try {
    const started = Date.now();
    const result = await replace({ 'terminate-connections': 'true', 'lock-timeout': '1s' });
    expect(result.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.errors[0]).toContain(`The safety backup of ${db.name} failed, so nothing was replaced`);
    expect(result.errors[0]).toContain(
      `It waited longer than lock-timeout (1.0s) for a lock.\nHolding locks on ${db.name} now:`,
    );
    expect(result.errors[0]).toMatch(/- session pid \d+, user postgres, application "report-job"/);
    expect(result.summary).toContain('## restore-db failed');
  } finally {
    await app.query('ROLLBACK').catch(() => undefined);
    await app.end().catch(() => undefined);
  }
  expect(await balanceOf(3)).toBe(11);
});

it('lock-timeout bounds the restore: a prepared transaction (no session to list or end) makes it fail and roll back, naming it', async () => {
  await db.query('UPDATE accounts SET balance = 21 WHERE id = 5');
  const { rows } = await db.query<{ max: string }>("SELECT current_setting('max_prepared_transactions') AS max");
  // Never skipped: a server without prepared transactions cannot run this test, and says so.
  expect(Number(rows[0].max)).toBeGreaterThan(0);
  await db.query("BEGIN; UPDATE accounts SET balance = 13 WHERE id = 4; PREPARE TRANSACTION 'faults-2pc'");
  try {
    const result = await replace({ 'safety-backup': 'false', 'lock-timeout': '1s' });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(
      `The restore into ${db.name} failed, and was rolled back (it runs in one transaction).`,
    );
    expect(result.errors[0]).toMatch(
      /It waited longer than lock-timeout \(1\.0s\) for a lock, and was cancelled: \S*pg_restore .* exited with code 1/,
    );
    expect(result.errors[0]).toContain('canceling statement due to user request');
    expect(result.errors[0]).toContain(`Holding locks on ${db.name} now:`);
    expect(result.errors[0]).toMatch(
      /- prepared transaction "faults-2pc" of user postgres, since .*\(COMMIT PREPARED or ROLLBACK PREPARED ends it\)/,
    );
    expect((await locksOn(db.name)).filter((lock) => !lock.granted)).toEqual([]);
  } finally {
    await db.query("ROLLBACK PREPARED 'faults-2pc'");
  }
  expect(await balanceOf(5)).toBe(21);
});

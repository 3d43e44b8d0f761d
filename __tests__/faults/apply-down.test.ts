import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseHistoryTable } from '../../shared/migrations/history.js';
import { migrationLockKeys } from '../../shared/migrations/lock.js';
import { CLIENT_CHECK_INTERVAL_MS } from '../../shared/postgres/connection.js';
import { startAction, type ActionResult } from '../../testkit/action-harness.js';
import { FIXTURE_SET, rewriteMigration, writeFixture, type WrittenFixture } from '../migrations/fixtures.js';
import { applyDown, freshDatabases, historyRows, migrateUp, parseJsonOutput } from '../migrations/helpers.js';
import type { TestDatabase } from '../../testkit/database.js';
import { locksOn, msUntil, runningStatements, sessionsOn, until } from './support.js';

/**
 * apply-down-migrations under the faults a rollback meets: the job cancelled (SIGINT, SIGTERM;
 * SIGHUP where a runner sends that) while a down script runs, the runner killed with -9, a second
 * run arriving while the first builds an index concurrently, a lock that never comes, a dirty
 * history. Each time: the database as it was (history row, schema), no session, no lock, and a
 * summary saying what happened.
 */
const database = freshDatabases();
const APP = 'rollback-actions apply-down-migrations';

/** The fixture at version 6, whose newest down migration changes a table, then runs for a minute. */
async function slowDown(prefix: string): Promise<{ fixture: WrittenFixture; db: TestDatabase }> {
  const fixture = writeFixture('golang-migrate');
  const db = await database(prefix);
  await migrateUp(fixture, db);
  rewriteMigration(fixture, 5, {
    ...FIXTURE_SET[5],
    down: `ALTER TABLE projects ADD COLUMN half_done integer;\nSELECT pg_sleep(60);\n${FIXTURE_SET[5].down}`,
  });
  return { fixture, db };
}

function startDown(fixture: WrittenFixture, db: TestDatabase, inputs: Record<string, string> = {}) {
  return startAction('apply-down-migrations', {
    inputs: {
      'database-url': db.url,
      'migrations-dir': fixture.dir,
      'migrations-format': fixture.format,
      'target-version': '3',
      'skip-backup-check': 'true',
      ...inputs,
    },
  });
}

async function columnExists(db: TestDatabase, table: string, column: string): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2',
    [table, column],
  );
  return rows.length > 0;
}

const nothingLeft = (db: TestDatabase) => async () =>
  (await sessionsOn(db.name)).length === 0 && (await locksOn(db.name)).length === 0;

describe('cancelled while a down script runs', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)(
    '%s: the statement is cancelled and rolled back, no session or lock left within 5 s, a summary says what happened',
    async (signal, exitCode) => {
      const { fixture, db } = await slowDown(`cancel_${signal.toLowerCase()}`);
      const step = startDown(fixture, db);
      await until('the down script runs', async () => (await runningStatements(db, /pg_sleep/)).length > 0);
      expect((await locksOn(db.name)).some((lock) => lock.locktype === 'advisory' && lock.granted)).toBe(true);

      const sentAt = Date.now();
      step.signal(signal);
      const result = await step.result;
      const exitedMs = Date.now() - sentAt;
      const goneMs = await msUntil('sessions and locks gone', nothingLeft(db), 5000, sentAt);
      console.log(`apply-down ${signal}: step exited after ${exitedMs} ms; sessions and locks gone after ${goneMs} ms`);

      expect(result.exitCode).toBe(exitCode);
      expect(goneMs).toBeLessThan(5000);
      // The migration's transaction rolled back: history and schema exactly as before.
      expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '6', dirty: false }]);
      expect(await columnExists(db, 'projects', 'half_done')).toBe(false);
      expect(await columnExists(db, 'audit_log', 'action')).toBe(true);

      expect(result.errors[0]).toContain(`Cancelled by ${signal} (the job was cancelled or timed out).`);
      expect(result.summary).toContain('## Down migrations failed at 6: 6 → 6');
      expect(result.summary).toMatch(/ERROR 57014` canceling statement due to user request/);
      expect(result.summary).toContain(`### apply-down-migrations cancelled (${signal})`);
      expect(result.summary).toMatch(
        /- cancelled the statement database session \d+ was running \(SELECT pg_sleep\(60\)/,
      );
      expect(result.summary).toContain("The migration's transaction was rolled back");
      expect(result.outputs['final-version']).toBe('6');
    },
  );

  it('kill -9 of the step: the orphaned statement ends within the connection check interval, rolled back', async () => {
    const { fixture, db } = await slowDown('cancel_kill9');
    const step = startDown(fixture, db);
    await until('the down script runs', async () => (await runningStatements(db, /pg_sleep/)).length > 0);
    const [orphan] = await runningStatements(db, /pg_sleep/);
    const killedAt = Date.now();
    process.kill(step.pid, 'SIGKILL');
    await step.result;
    const goneMs = await msUntil(
      'the orphaned session gone',
      async () => !(await sessionsOn(db.name)).some((session) => session.pid === orphan.pid),
      10_000,
      killedAt,
    );
    console.log(
      `apply-down kill -9: orphaned statement (pid ${orphan.pid}) gone after ${goneMs} ms (client_connection_check_interval ${CLIENT_CHECK_INTERVAL_MS} ms)`,
    );
    // Without the check the statement would run its full minute, holding its locks.
    expect(goneMs).toBeLessThan(2 * CLIENT_CHECK_INTERVAL_MS);
    await until('no lock left', async () => (await locksOn(db.name)).length === 0, 5000);
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '6', dirty: false }]);
    expect(await columnExists(db, 'projects', 'half_done')).toBe(false);
  });
});

describe('two runs while the first builds an index concurrently', () => {
  it('no deadlock: the second waits without holding a snapshot, then finds nothing to do; the index is valid', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fixture-cic-'));
    const files: Record<string, string> = {
      '1_create_items.up.sql':
        "CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL);\nINSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5000) g;\nCREATE INDEX items_v_idx ON items (v);\n",
      '1_create_items.down.sql': 'DROP TABLE items;\n',
      '2_drop_items_v_idx.up.sql': 'DROP INDEX CONCURRENTLY items_v_idx;\n',
      // The first statement is a gate the test opens once the second run is waiting for the lock.
      '2_drop_items_v_idx.down.sql':
        'SELECT pg_advisory_lock(424242), pg_advisory_unlock(424242);\nCREATE INDEX CONCURRENTLY items_v_idx ON items (v);\n',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const fixture: WrittenFixture = {
      dir,
      format: 'golang-migrate',
      versions: ['1', '2'],
      downFiles: [],
      migrations: [],
      withDieselSetup: false,
    };
    const db = await database('cic');
    await migrateUp(fixture, db);

    const gate = new pg.Client({ connectionString: db.url });
    await gate.connect();
    let first: ActionResult;
    let second: ActionResult;
    try {
      await gate.query('SELECT pg_advisory_lock(424242)');
      const firstStep = startDown(fixture, db, { 'target-version': '1' });
      await until('the first run waits at the gate, holding the migration lock', async () =>
        (await sessionsOn(db.name)).some(
          (session) => /pg_advisory_lock\(424242\)/.test(session.query) && session.state === 'active',
        ),
      );
      const secondStep = startDown(fixture, db, { 'target-version': '1', 'lock-timeout': '2m' });
      await until('the second run waits for the migration lock', () =>
        secondStep.output().includes('Waiting for the migration lock'),
      );
      await gate.query('SELECT pg_advisory_unlock(424242)');
      [first, second] = await Promise.all([firstStep.result, secondStep.result]);
    } finally {
      await gate.end();
    }

    expect(first.exitCode).toBe(0);
    expect(parseJsonOutput<{ version: string }[]>(first, 'reverted').map((entry) => entry.version)).toEqual(['2']);
    expect(second.exitCode).toBe(0);
    expect(parseJsonOutput(second, 'reverted')).toEqual([]);
    expect(second.log).toMatch(
      new RegExp(
        `Waiting for the migration lock \\(advisory lock \\d+\\), held by pid \\d+ \\(${APP}\\) user postgres`,
      ),
    );
    expect(second.notices.join('\n')).toContain('Nothing to revert');
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '1', dirty: false }]);
    const { rows } = await db.query<{ valid: boolean }>(
      "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'items_v_idx'::regclass",
    );
    expect(rows).toEqual([{ valid: true }]);
  });
});

describe('every refusal writes a job summary', () => {
  it('the migration lock held elsewhere: gives up after lock-timeout, naming the holder, in the log and the summary', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('lock_summary');
    await migrateUp(fixture, db);
    const holder = new pg.Client({ connectionString: db.url, application_name: 'deploy migrate up' });
    await holder.connect();
    try {
      const [key] = migrationLockKeys(db.name, parseHistoryTable('schema_migrations'), 'golang-migrate');
      await holder.query(`SELECT pg_advisory_lock(${key.id})`);
      const result = await applyDown(fixture, db, { 'target-version': '3', 'lock-timeout': '700ms' });
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toMatch(
        /gave up after waiting \d+ms \(lock-timeout\)\. Held by pid \d+ \(deploy migrate up\)/,
      );
      expect(result.log).toMatch(
        /Waiting for the migration lock \(advisory lock \d+\), held by pid \d+ \(deploy migrate up\)/,
      );
      expect(result.summary).toContain('## apply-down-migrations failed');
      expect(result.summary).toMatch(
        /Another migration run holds the migration lock .* Held by pid \d+ \(deploy migrate up\)/,
      );
      expect(result.summary).toContain('- Connected to `postgres@');
    } finally {
      await holder.end();
    }
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '6', dirty: false }]);
  });

  it('a dirty history: refused, with the summary saying so', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('dirty_summary');
    await migrateUp(fixture, db);
    await db.query('UPDATE schema_migrations SET dirty = true');
    const result = await applyDown(fixture, db, { 'target-version': '3' });
    expect(result.exitCode).toBe(1);
    expect(result.summary).toContain('## apply-down-migrations failed');
    expect(result.summary).toContain('The history table public.schema_migrations is dirty at version 6');
    expect(result.summary).toContain('> Hint: Inspect the schema');
  });

  it('a dry run reverting everything reports final-version empty', async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('dry_all');
    await migrateUp(fixture, db);
    const result = await applyDown(fixture, db, { 'target-version': '0', 'dry-run': true });
    expect(result.exitCode).toBe(0);
    expect(result.outputs['initial-version']).toBe('6');
    expect(result.outputs['final-version']).toBe('');
    expect(result.summary).toContain('## Down migrations (dry run): would go 6 → none');
  });
});

import pg from 'pg';
import { runProcess } from '../../shared/process.js';
import type { ActionResult } from '../../testkit/action-harness.js';
import type { TestDatabase } from '../../testkit/database.js';
import { FIXTURE_SET, rewriteMigration, writeFixture, type WrittenFixture } from './fixtures.js';
import { applyDown, freshDatabases, historyRows, migrateUp, parseJsonOutput } from './helpers.js';

/**
 * Two runs against one database: the advisory lock makes one wait for the other (then find nothing
 * left to do) or give up after lock-timeout with a message that says who holds the lock. Never do
 * both revert. The same lock excludes golang-migrate's own `migrate up`.
 */
const database = freshDatabases();

/** A fixture whose newest down migration takes `seconds`: long enough for a second run to arrive. */
async function slowFixture(seconds: number): Promise<{ fixture: WrittenFixture; db: TestDatabase }> {
  const fixture = writeFixture('golang-migrate');
  const db = await database('concurrent');
  await migrateUp(fixture, db);
  rewriteMigration(fixture, 5, { ...FIXTURE_SET[5], down: `SELECT pg_sleep(${seconds});\n${FIXTURE_SET[5].down}` });
  return { fixture, db };
}

/** Resolves once some session holds an advisory lock in this database (the first run has the migration lock). */
async function lockTaken(db: TestDatabase): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    if (rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the first run never took the migration lock');
}

function revertedVersions(result: ActionResult): string[] {
  return parseJsonOutput<{ version: string }[]>(result, 'reverted').map((entry) => entry.version);
}

describe('two runs against the same database', () => {
  it('started at once: exactly one reverts, the other finds nothing left to do', async () => {
    const { fixture, db } = await slowFixture(1);
    const [a, b] = await Promise.all([
      applyDown(fixture, db, { 'target-version': '3' }),
      applyDown(fixture, db, { 'target-version': '3' }),
    ]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    const lists = [revertedVersions(a), revertedVersions(b)].sort((x, y) => y.length - x.length);
    expect(lists).toEqual([['6', '5', '4'], []]);
    const idle = revertedVersions(a).length === 0 ? a : b;
    expect(idle.notices.join('\n')).toContain('Nothing to revert: the database is already at version 3');
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '3', dirty: false }]);
  });

  it('the second waits for the lock while the first reverts, then finds nothing to do', async () => {
    // Long enough that the second run, node start included, arrives while the first still holds the lock.
    const { fixture, db } = await slowFixture(6);
    const first = applyDown(fixture, db, { 'target-version': '3' });
    await lockTaken(db);
    const second = await applyDown(fixture, db, { 'target-version': '3', 'lock-timeout': '60s' });
    const firstResult = await first;
    expect(revertedVersions(firstResult)).toEqual(['6', '5', '4']);
    expect(second.exitCode).toBe(0);
    expect(revertedVersions(second)).toEqual([]);
    expect(second.log).toMatch(/Waited (\d+ms|\d+\.\ds) for the migration lock/);
    expect(second.outputs['initial-version']).toBe('3');
    expect(second.summary).toContain('nothing to do');
  });

  it('the second gives up after lock-timeout, saying who holds the lock, and changes nothing', async () => {
    const { fixture, db } = await slowFixture(8);
    const first = applyDown(fixture, db, { 'target-version': '3' });
    await lockTaken(db);
    const second = await applyDown(fixture, db, { 'target-version': '3', 'lock-timeout': '500ms' });
    expect(second.exitCode).toBe(1);
    expect(second.errors[0]).toMatch(
      /Another migration run holds the migration lock \(advisory lock \d+\); gave up after waiting \d+ms \(lock-timeout\)\. Held by pid \d+ \(rollback-actions apply-down-migrations\) user postgres/,
    );
    expect(second.errors[0]).toContain('Nothing was changed.');
    expect(second.outputs.reverted).toBeUndefined();
    const firstResult = await first;
    expect(revertedVersions(firstResult)).toEqual(['6', '5', '4']);
    expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '3', dirty: false }]);
  });
});

describe('the lock golang-migrate takes', () => {
  it("a `migrate up` holding golang-migrate CLI's lock id (computed here independently, with Python's zlib) keeps the rollback out", async () => {
    const fixture = writeFixture('golang-migrate');
    const db = await database('golock');
    await migrateUp(fixture, db);
    // golang-migrate: crc32(databaseName \0 schema \0 table) * salt mod 2^32; its CLI passes the URL path ("/name").
    const { stdout } = await runProcess('python3', [
      '-c',
      'import sys, zlib; print((zlib.crc32("\\0".join(sys.argv[1:]).encode()) * 1486364155) & 0xffffffff)',
      `/${db.name}`,
      'public',
      'schema_migrations',
    ]);
    const cliLockId = stdout.trim();

    const deploy = new pg.Client({ connectionString: db.url, application_name: 'migrate' });
    await deploy.connect();
    try {
      await deploy.query(`SELECT pg_advisory_lock(${cliLockId})`);
      const blocked = await applyDown(fixture, db, { 'target-version': '3', 'lock-timeout': '300ms' });
      expect(blocked.exitCode).toBe(1);
      expect(blocked.errors[0]).toContain(`advisory lock ${cliLockId}`);
      expect(blocked.errors[0]).toContain('(migrate)');
      expect(await historyRows(db, 'golang-migrate')).toEqual([{ version: '6', dirty: false }]);
      await deploy.query(`SELECT pg_advisory_unlock(${cliLockId})`);
    } finally {
      await deploy.end();
    }
    const done = await applyDown(fixture, db, { 'target-version': '3', 'lock-timeout': '300ms' });
    expect(done.errors).toEqual([]);
    expect(done.summary).toContain(`advisory lock ${cliLockId}`);
  });
});

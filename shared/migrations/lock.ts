import type pg from 'pg';
import { pause } from '../cancellation.js';
import { ActionError } from '../errors.js';
import { formatDuration } from '../duration.js';
import type { HistoryTable } from './history-table.js';
import { migrationTool } from './tools/index.js';
import type { MigrationFormat } from './types.js';

/**
 * The migration lock: a PostgreSQL session advisory lock, so two rollbacks, or a rollback and a
 * deploy's `migrate up`, never change the schema at the same time.
 *
 * Its id is derived from the history table exactly as golang-migrate derives its own
 * (database/util.go GenerateAdvisoryLockId, called by database/postgres Lock() with the database
 * name, the history table's schema and its name):
 *
 *     id = (crc32_ieee(database + "\0" + schema + "\0" + table) * 1486364155) mod 2^32
 *
 * For golang-migrate histories we also take the id golang-migrate's CLI computes, whose database
 * name is the URL path with its leading slash ("/app"), so a `migrate up` started from the CLI or
 * from code (postgres.WithInstance, which asks current_database()) both wait for us and we for them.
 * dbmate and diesel take no lock of their own; the same derivation gives them a documented id.
 */

export { golangMigrateLockId } from './lock-id.js';

export interface LockKey {
  id: string;
  /** How the id was derived, for the summary and error messages. */
  derivation: string;
}

/** The advisory lock ids a run on this database and history table takes, in the order it takes them. */
export function migrationLockKeys(database: string, table: HistoryTable, format: MigrationFormat): LockKey[] {
  return migrationTool(format).lockKeys(database, table);
}

export function lockSql(keys: readonly LockKey[]): string[] {
  return keys.map((key) => `SELECT pg_advisory_lock(${key.id});`);
}

export function unlockSql(keys: readonly LockKey[]): string[] {
  return [...keys].reverse().map((key) => `SELECT pg_advisory_unlock(${key.id});`);
}

interface LockHolder {
  pid: number;
  application_name: string | null;
  client_addr: string | null;
  usename: string | null;
  state: string | null;
  backend_start: Date | null;
  query: string | null;
}

/** Who holds one of our lock ids right now, for the "timed out waiting" message. */
async function lockHolders(client: pg.Client, keys: readonly LockKey[]): Promise<LockHolder[]> {
  // A bigint advisory lock is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
  const ids = keys.map((key) => key.id);
  const { rows } = await client.query<LockHolder>(
    `SELECT DISTINCT a.pid, a.application_name, a.client_addr::text AS client_addr, a.usename, a.state, a.backend_start, left(a.query, 200) AS query
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint)::text = ANY($1::text[])
        AND a.pid <> pg_backend_pid()`,
    [ids],
  );
  return rows;
}

export interface HeldLock {
  keys: LockKey[];
  waitedMs: number;
  release(): Promise<void>;
}

/** Backoff between tries: quick at first (a deploy's migrate up usually takes seconds), then easing off. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1000;
/** While waiting, who holds the lock is logged this often. */
const WAIT_REPORT_MS = 10_000;

function describeHolders(holders: LockHolder[]): string {
  return holders.length
    ? holders
        .map(
          (holder) =>
            `pid ${holder.pid}${holder.application_name ? ` (${holder.application_name})` : ''}${holder.usename ? ` user ${holder.usename}` : ''}${holder.client_addr ? ` from ${holder.client_addr}` : ''}${holder.backend_start ? `, connected since ${holder.backend_start.toISOString()}` : ''}`,
        )
        .join('; ')
    : 'a session that has since let go';
}

/**
 * Takes the session advisory locks, waiting at most `timeoutMs` for them all (0: wait forever).
 *
 * The wait is a loop of pg_try_advisory_lock with backoff, never a blocking pg_advisory_lock: a
 * session blocked in pg_advisory_lock holds the snapshot of that statement the whole time, and a
 * CREATE/DROP INDEX CONCURRENTLY run by the lock's holder waits for every older snapshot, while
 * the waiter waits for the holder: a deadlock that PostgreSQL breaks by failing one of them, with
 * the holder's migration half done. Each try is a statement of its own, so no snapshot outlives it.
 * A cancellation (cancellation.ts) ends the wait at once.
 */
export async function acquireMigrationLock(
  client: pg.Client,
  keys: LockKey[],
  timeoutMs: number,
  options: { onWait?: (message: string) => void } = {},
): Promise<HeldLock> {
  const started = Date.now();
  // Statements of the run then wait for table locks at most lock-timeout too.
  await client.query(`SET lock_timeout = ${timeoutMs}`);
  const taken: LockKey[] = [];
  const release = async () => {
    for (const key of [...taken].reverse())
      await client.query(`SELECT pg_advisory_unlock(${key.id})`).catch(() => undefined);
    taken.length = 0;
  };
  let delay = FIRST_RETRY_MS;
  let reportedAt = started;
  try {
    for (const key of keys) {
      for (;;) {
        const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${key.id}) AS locked`);
        if (rows[0].locked) {
          taken.push(key);
          break;
        }
        const waited = Date.now() - started;
        if (timeoutMs > 0 && waited >= timeoutMs) {
          const holders = await lockHolders(client, keys).catch(() => []);
          throw new ActionError(
            `Another migration run holds the migration lock (advisory lock ${key.id}); gave up after waiting ${formatDuration(waited)} (lock-timeout). Held by ${describeHolders(holders)}. Nothing was changed.`,
            {
              hint: 'Wait for the other run (a deploy migrating up, or another rollback) to finish and re-run, or raise lock-timeout. Never run two migration tools on one database at once.',
            },
          );
        }
        if (options.onWait && (reportedAt === started || Date.now() - reportedAt >= WAIT_REPORT_MS)) {
          reportedAt = Date.now();
          const holders = await lockHolders(client, keys).catch(() => []);
          options.onWait(
            `Waiting for the migration lock (advisory lock ${key.id}), held by ${describeHolders(holders)}; waited ${formatDuration(waited)} of ${timeoutMs > 0 ? formatDuration(timeoutMs) : 'no limit'}.`,
          );
        }
        const wait = timeoutMs > 0 ? Math.min(delay, Math.max(1, started + timeoutMs - Date.now())) : delay;
        await pause(wait, 'Stopped waiting for the migration lock');
        delay = Math.min(MAX_RETRY_MS, delay * 2);
      }
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { keys, waitedMs: Date.now() - started, release };
}

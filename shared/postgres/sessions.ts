import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../duration.js';
import { connect, type PgTarget } from './connection.js';

/**
 * The other sessions connected to a database: who they are and since when they do what they do.
 * A database about to be replaced is refused while anyone is connected (their open transactions
 * hold locks the restore would wait behind forever, and whatever they write is lost), unless the
 * caller chose to end them.
 */
export interface Session {
  pid: number;
  user: string | null;
  application: string | null;
  clientAddress: string | null;
  state: string | null;
  /** When the current state (its transaction, for "idle in transaction") began. */
  since: Date | null;
  query: string | null;
}

export async function otherSessions(client: pg.Client, database: string): Promise<Session[]> {
  const { rows } = await client.query<{
    pid: number;
    usename: string | null;
    application_name: string | null;
    client_addr: string | null;
    state: string | null;
    since: Date | null;
    query: string | null;
  }>(
    `SELECT pid, usename, application_name, host(client_addr) AS client_addr, state,
            CASE WHEN state LIKE 'idle in transaction%' THEN xact_start WHEN state = 'active' THEN query_start ELSE state_change END AS since,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
       FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      ORDER BY backend_start, pid`,
    [database],
  );
  return rows.map((row) => ({
    pid: row.pid,
    user: row.usename,
    application: row.application_name || null,
    clientAddress: row.client_addr,
    state: row.state,
    since: row.since,
    query: row.query,
  }));
}

export function describeSession(session: Session, now = Date.now()): string {
  const since = session.since
    ? ` since ${session.since.toISOString()} (${formatDuration(now - session.since.getTime())})`
    : '';
  return [
    `pid ${session.pid}`,
    session.user ? `user ${session.user}` : undefined,
    session.application ? `application "${session.application}"` : 'no application name',
    session.clientAddress ? `from ${session.clientAddress}` : 'local socket',
    `${session.state ?? 'state unknown'}${since}`,
    session.query && session.state !== 'idle' ? `last statement: ${session.query}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * Ends the sessions (pg_terminate_backend) and waits until they are gone, at most `timeoutMs`;
 * returns those still there after it (a session can take a moment to roll back and exit).
 */
export async function terminateSessions(
  client: pg.Client,
  database: string,
  pids: number[],
  timeoutMs: number,
): Promise<Session[]> {
  await client.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await otherSessions(client, database)).filter((session) => pids.includes(session.pid));
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(50);
  }
}

/**
 * Who can hold locks in a database right now, in words: its other sessions, and its prepared
 * transactions (two-phase commit), which hold their locks with no session at all.
 */
export async function lockHoldersNow(client: pg.Client, database: string): Promise<string[]> {
  const sessions = (await otherSessions(client, database)).map((session) => `session ${describeSession(session)}`);
  const { rows } = await client.query<{ gid: string; owner: string; prepared: Date }>(
    'SELECT gid, owner, prepared FROM pg_prepared_xacts WHERE database = $1 ORDER BY prepared',
    [database],
  );
  const prepared = rows.map(
    (row) =>
      `prepared transaction "${row.gid}" of user ${row.owner}, since ${row.prepared.toISOString()} (COMMIT PREPARED or ROLLBACK PREPARED ends it)`,
  );
  return [...sessions, ...prepared];
}

/** How often a lock-wait watch looks. */
const WATCH_INTERVAL_MS = 200;

/**
 * Bounds the lock waits of the sessions a client program opened under `applicationName` (pg_restore
 * and psql set lock_timeout = 0 themselves, from the dump's preamble): a statement of theirs waiting
 * for a lock longer than `timeoutMs` is cancelled. `stop()` ends the watch and says whether it fired.
 */
export async function watchLockWaits(
  target: PgTarget,
  applicationName: string,
  timeoutMs: number,
): Promise<{ stop(): Promise<boolean> }> {
  const client = await connect(target, { applicationName: 'rollback-actions lock watch' });
  const waitingSince = new Map<string, number>();
  let fired = false;
  let stopped = false;
  const look = async () => {
    const { rows } = await client.query<{ pid: number; query_start: Date | null }>(
      "SELECT pid, query_start FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [applicationName],
    );
    const now = Date.now();
    const seen = new Set<string>();
    for (const row of rows) {
      const key = `${row.pid}:${row.query_start?.getTime() ?? 0}`;
      seen.add(key);
      const since = waitingSince.get(key) ?? now;
      waitingSince.set(key, since);
      if (now - since >= timeoutMs) {
        fired = true;
        await client.query('SELECT pg_cancel_backend($1)', [row.pid]);
      }
    }
    for (const key of waitingSince.keys()) if (!seen.has(key)) waitingSince.delete(key);
  };
  const loop = (async () => {
    while (!stopped) {
      await look().catch(() => undefined);
      await sleep(WATCH_INTERVAL_MS);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.end().catch(() => undefined);
      return fired;
    },
  };
}

import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../duration.js';

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
  const { rows } = await client.query<{ pid: number; usename: string | null; application_name: string | null; client_addr: string | null; state: string | null; since: Date | null; query: string | null }>(
    `SELECT pid, usename, application_name, client_addr::text AS client_addr, state,
            CASE WHEN state LIKE 'idle in transaction%' THEN xact_start WHEN state = 'active' THEN query_start ELSE state_change END AS since,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
       FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      ORDER BY backend_start, pid`,
    [database],
  );
  return rows.map((row) => ({ pid: row.pid, user: row.usename, application: row.application_name || null, clientAddress: row.client_addr, state: row.state, since: row.since, query: row.query }));
}

export function describeSession(session: Session, now = Date.now()): string {
  const since = session.since ? ` since ${session.since.toISOString()} (${formatDuration(now - session.since.getTime())})` : '';
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
export async function terminateSessions(client: pg.Client, database: string, pids: number[], timeoutMs: number): Promise<Session[]> {
  await client.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await otherSessions(client, database)).filter((session) => pids.includes(session.pid));
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(50);
  }
}

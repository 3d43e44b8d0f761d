import { readdirSync, readFileSync } from 'node:fs';
import type { TestDatabase } from '../../testkit/database.js';
import { withAdmin } from '../../testkit/database.js';

/**
 * What a fault leaves behind, read from the outside: sessions in pg_stat_activity, locks in
 * pg_locks, processes in /proc, and how long they took to go.
 */
export interface SessionRow {
  pid: number;
  application_name: string;
  state: string | null;
  query: string;
}

/** The client sessions on a database, except the one asking. */
export async function sessionsOn(database: string): Promise<SessionRow[]> {
  return await withAdmin(async (client) => {
    const { rows } = await client.query<SessionRow>(
      "SELECT pid, application_name, state, query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY pid",
      [database],
    );
    return rows;
  });
}

export interface LockRow {
  pid: number;
  locktype: string;
  mode: string;
  granted: boolean;
}

/** Locks held or awaited in a database by sessions other than the one asking (advisory and relation locks alike). */
export async function locksOn(database: string): Promise<LockRow[]> {
  return await withAdmin(async (client) => {
    const { rows } = await client.query<LockRow>(
      `SELECT l.pid, l.locktype, l.mode, l.granted FROM pg_locks l
        WHERE l.database = (SELECT oid FROM pg_database WHERE datname = $1) AND l.pid <> pg_backend_pid() ORDER BY l.pid`,
      [database],
    );
    return rows;
  });
}

/** Milliseconds until `condition` holds, polled every 20 ms; throws after `timeoutMs`. */
export async function msUntil(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs: number,
  since = Date.now(),
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return Date.now() - since;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves once `condition` holds (polled every 50 ms), or throws after `timeoutMs`. */
export async function until(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Pids of the processes whose command line contains `text` (this machine's /proc). */
export function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The sessions of a test database whose statement matches `pattern` and is running. */
export async function runningStatements(db: TestDatabase, pattern: RegExp): Promise<SessionRow[]> {
  return (await sessionsOn(db.name)).filter((session) => session.state === 'active' && pattern.test(session.query));
}

import * as core from '@actions/core';
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActionError, errorMessage } from '../../errors.js';
import { connect, type PgTarget } from '../../postgres/connection.js';
import type { PgBackRestHost } from './host.js';

/**
 * A PostgreSQL data directory on the pgBackRest host, driven with pg_ctl through the host's
 * executor: whether a server runs on it, starting a restored one on a side port, and waiting until
 * its recovery has ended (promotion) or failed.
 */
const ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);

/** pg_ctl status: 0 a server runs on it, 3 none does; 4 (no data directory) is an error. */
export async function serverRunsOn(host: PgBackRestHost, pgCtl: string, dataDirectory: string): Promise<boolean> {
  const result = await host.run(pgCtl, ['status', '-D', dataDirectory], { okExitCodes: ANY_EXIT, timeoutMs: 60_000 });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 3) return false;
  throw new ActionError(
    `pg_ctl status -D ${dataDirectory} on ${host.description} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim()}`,
  );
}

export interface RecoveredServer {
  /** Timeline the recovery ended on (a new one after promotion). */
  timeline: number;
  /** WAL position of the promoted server when it first answered. */
  lsn: string;
}

/**
 * Waits until the server at `target` answers and has left recovery. `stillStarting` says whether it
 * is still worth waiting (false once the postmaster is gone); `explain` fetches its log for the error.
 */
export async function waitUntilPromoted(
  target: PgTarget,
  timeoutMs: number,
  stillStarting: () => Promise<boolean>,
  explain: () => Promise<string>,
): Promise<RecoveredServer> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'it did not answer';
  // Polled every 50 ms: a longer step adds up to its length to the restore time (RTO) this
  // measures, and a failed connection attempt costs little.
  while (Date.now() < deadline) {
    let client: pg.Client | undefined;
    try {
      client = await connect(target, { applicationName: 'rollback-actions restore-db', connectTimeoutMs: 5000 });
      const { rows } = await client.query<{ recovering: boolean; replayed: string | null }>(
        'SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed',
      );
      if (!rows[0].recovering) {
        // The timeline WAL is written on now (pg_control's checkpoint timeline lags until the next checkpoint).
        const { rows: current } = await client.query<{ segment: string; lsn: string }>(
          'SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment, pg_current_wal_lsn()::text AS lsn',
        );
        return { timeline: parseInt(current[0].segment.slice(0, 8), 16), lsn: current[0].lsn };
      }
      lastProblem = `it was still recovering (replayed up to ${rows[0].replayed ?? 'nothing yet'})`;
    } catch (error) {
      lastProblem = errorMessage(error);
      if (!(await stillStarting().catch(() => false))) {
        throw new ActionError(
          `The restored server stopped during recovery:\n${await explain().catch((reason: unknown) => `(its log could not be read: ${errorMessage(reason)})`)}`,
        );
      }
    } finally {
      await client?.end().catch(() => undefined);
    }
    await sleep(50);
  }
  throw new ActionError(
    `The restored server did not finish recovery within ${Math.round(timeoutMs / 1000)}s: ${lastProblem}.\n${await explain().catch(() => '')}`,
  );
}

/** The last lines of a file there (a server log), for error messages. */
export async function tailOf(host: PgBackRestHost, file: string, lines = 20): Promise<string> {
  const { stdout } = await host.run('tail', ['-n', String(lines), '--', file], { okExitCodes: [0, 1] });
  return stdout.trim();
}

/**
 * `pg_ctl stop`, waiting; a server that is not running is fine. "fast" (the default) ends with a
 * shutdown checkpoint, so the directory is left clean; "immediate" skips it, for a directory that
 * is deleted next: after a restore and its checks that checkpoint writes every page they touched.
 */
export async function stopServer(
  host: PgBackRestHost,
  pgCtl: string,
  dataDirectory: string,
  mode: 'fast' | 'immediate' = 'fast',
  /** Known to run (this step started it and has just used it): not asked again. */
  knownRunning = false,
): Promise<void> {
  if (!knownRunning && !(await serverRunsOn(host, pgCtl, dataDirectory))) return;
  core.info(`Stopping the server on ${dataDirectory}.`);
  await host.run(pgCtl, ['stop', '-D', dataDirectory, '-m', mode, '-w', '-t', '120'], { timeoutMs: 180_000 });
}

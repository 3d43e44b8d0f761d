import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { ActionError } from '../../errors.js';
import { parseSegmentFileName } from './wal.js';

/**
 * Named restore points and the guarantee that makes them worth having: the WAL that holds them is
 * in the archive. pg_create_restore_point only writes a record; a recovery can stop there only once
 * the segment with that record has been archived, so the segment is switched out and the archiver
 * is waited for.
 */
export interface RestorePoint {
  name: string;
  /** The LSN pg_create_restore_point returned (the end of its record), "0/8000090". */
  lsn: string;
  createdAt: Date;
  timeline: number;
  /** The WAL segment holding the record. */
  segment: string;
}

/** PostgreSQL keeps restore point names in a char[MAXFNAMELEN] (64 bytes with the terminating NUL). */
export const RESTORE_POINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,62}$/;
export const RESTORE_POINT_DESCRIPTION =
  'letters, digits and . _ : @ + - (at most 63, starting with a letter or digit)';

export async function createRestorePoint(client: pg.Client, name: string): Promise<RestorePoint> {
  const { rows } = await client.query<{ lsn: string; segment: string; at: Date }>(
    'SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS segment, clock_timestamp() AS at FROM pg_create_restore_point($1) AS lsn',
    [name],
  );
  const [row] = rows;
  return {
    name,
    lsn: row.lsn,
    createdAt: row.at,
    timeline: parseSegmentFileName(row.segment)?.timeline ?? 1,
    segment: row.segment,
  };
}

interface ArchiverState {
  last_archived_wal: string | null;
  last_failed_wal: string | null;
  last_failed_time: Date | null;
}

/** Whether the archiver's last archived file is this segment or a later one (same or later timeline). */
function archivedThrough(last: string | null, segment: string): boolean {
  return last !== null && /^[0-9A-F]{24}$/.test(last) && last >= segment;
}

/**
 * Puts everything written so far into the archive: a commit record (so that a recovery to any time
 * up to now finds a commit after it to stop at), a switch to a new segment, and a wait until the
 * archiver reports the finished segment archived. Returns that segment.
 */
export async function archiveUpToNow(client: pg.Client, timeoutMs: number): Promise<string> {
  const started = new Date();
  await client.query('SELECT txid_current()');
  const { rows } = await client.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
  const segment = rows[0].segment;
  const deadline = Date.now() + timeoutMs;
  let state: ArchiverState | undefined;
  // Polled every 50 ms at most (a query on a view): archive_command usually finishes within a
  // few hundred ms, and a longer step would add up to its length to every restore point.
  for (let delay = 10; ; delay = Math.min(delay * 2, 50)) {
    state = (
      await client.query<ArchiverState>(
        'SELECT last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver',
      )
    ).rows[0];
    if (archivedThrough(state.last_archived_wal, segment)) return segment;
    if (Date.now() >= deadline) break;
    await sleep(delay);
  }
  const failure =
    state?.last_failed_time && state.last_failed_time >= started
      ? ` The archiver's last failure: ${state.last_failed_wal} at ${state.last_failed_time.toISOString()} (see the server log for archive_command's error).`
      : '';
  throw new ActionError(
    `WAL segment ${segment} was not archived within ${Math.round(timeoutMs / 1000)}s (last archived: ${state?.last_archived_wal ?? 'none'}).${failure}`,
  );
}

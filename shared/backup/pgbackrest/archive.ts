import * as core from '@actions/core';
import { ActionError } from '../../errors.js';
import type { PgBackRestHost } from './host.js';
import type { StanzaInfo } from './info.js';
import {
  formatLsn,
  parseLsn,
  parseSegmentFileName,
  parseTimelineHistory,
  segmentEndingAt,
  segmentStartLsn,
  timelineHistoryFileName,
  type Segment,
  type TimelineBranch,
} from './wal.js';

/**
 * Reading the stanza's WAL archive where pgBackRest runs: which segments it holds, a timeline's
 * history, and where a named restore point is. A restore point is only a WAL record, and recovery to
 * a name that is not there runs to the end of the archive and fails (PostgreSQL 13+: "recovery ended
 * before configured recovery target was reached") after the data directory was already replaced, so
 * the name is found in the archived WAL, with pg_waldump, before anything is restored.
 */
export interface ArchivedSegment extends Segment {
  name: string;
  /** When pgBackRest stored it (the repository file's time). */
  archivedAt: Date;
}

export interface FoundRestorePoint {
  name: string;
  /** Start of the restore point record. */
  lsn: bigint;
  timeline: number;
  segment: string;
}

interface RepoEntry {
  type: string;
  time?: number;
}

const ARCHIVED_SEGMENT = /(?:^|\/)([0-9A-F]{24})-[0-9a-f]{40}(?:\.[a-z0-9]+)?$/;

/** Every complete WAL segment in the stanza's current archive, oldest first. */
export async function listArchivedSegments(
  host: PgBackRestHost,
  info: StanzaInfo,
  segmentSize: number,
): Promise<ArchivedSegment[]> {
  if (!info.archiveId) return [];
  const { stdout } = await host.pgbackrest('repo-ls', [
    '--output=json',
    '--recurse',
    '--log-level-console=warn',
    `archive/${info.name}/${info.archiveId}`,
  ]);
  const entries = JSON.parse(stdout) as Record<string, RepoEntry>;
  const segments: ArchivedSegment[] = [];
  for (const [file, entry] of Object.entries(entries)) {
    const name = entry.type === 'file' ? ARCHIVED_SEGMENT.exec(file)?.[1] : undefined;
    const segment = name ? parseSegmentFileName(name, segmentSize) : undefined;
    if (name && segment) segments.push({ ...segment, name, archivedAt: new Date((entry.time ?? 0) * 1000) });
  }
  return segments.sort((a, b) => (a.number === b.number ? a.timeline - b.timeline : a.number < b.number ? -1 : 1));
}

/**
 * The archived segment names in one directory of the stanza's archive (its first 16 characters, a
 * timeline and log file), sorted: one listing instead of the whole archive's, for the segment just pushed.
 */
export async function archivedSegmentsIn(host: PgBackRestHost, info: StanzaInfo, directory: string): Promise<string[]> {
  if (!info.archiveId) return [];
  const { stdout } = await host.pgbackrest('repo-ls', [
    '--output=json',
    '--log-level-console=warn',
    `archive/${info.name}/${info.archiveId}/${directory}`,
  ]);
  const entries = JSON.parse(stdout) as Record<string, RepoEntry>;
  return Object.entries(entries)
    .flatMap(([file, entry]) => (entry.type === 'file' ? (ARCHIVED_SEGMENT.exec(file)?.[1] ?? []) : []))
    .sort();
}

/** The newest archived segment: what the newest restorable moment is measured by. */
export function newestSegment(segments: ArchivedSegment[]): ArchivedSegment | undefined {
  return segments.reduce<ArchivedSegment | undefined>(
    (newest, segment) =>
      !newest ||
      segment.archivedAt > newest.archivedAt ||
      (segment.archivedAt.getTime() === newest.archivedAt.getTime() && segment.name > newest.name)
        ? segment
        : newest,
    undefined,
  );
}

/** A WAL file from the archive into `dir` (named as PostgreSQL names it); false when the archive does not have it. */
async function fetchWal(host: PgBackRestHost, name: string, dir: string): Promise<boolean> {
  const result = await host.pgbackrest('archive-get', ['--log-level-console=warn', name, `${dir}/${name}`], {
    okExitCodes: [0, 1],
  });
  return result.exitCode === 0;
}

/** The history of `timeline` (empty for timeline 1, which has none). */
export async function timelineHistory(
  host: PgBackRestHost,
  timeline: number,
  scratchDir: string,
): Promise<TimelineBranch[]> {
  if (timeline <= 1) return [];
  const file = timelineHistoryFileName(timeline);
  if (!(await fetchWal(host, file, scratchDir)))
    throw new ActionError(
      `The archive of stanza "${host.settings.stanza}" has no ${file}, which timeline ${timeline} needs.`,
    );
  const { stdout } = await host.run('cat', ['--', `${scratchDir}/${file}`]);
  return parseTimelineHistory(stdout);
}

const RESTORE_POINT_RECORD = /lsn: ([0-9A-F]+\/[0-9A-F]+), prev [0-9A-F]+\/[0-9A-F]+, desc: RESTORE_POINT (.*)$/;

/** Restore points in pg_waldump's output, by name. */
export function restorePointsIn(waldumpOutput: string): { name: string; lsn: bigint }[] {
  const found: { name: string; lsn: bigint }[] = [];
  for (const line of waldumpOutput.split('\n')) {
    const match = RESTORE_POINT_RECORD.exec(line);
    if (match) found.push({ name: match[2], lsn: parseLsn(match[1]) });
  }
  return found;
}

export interface RestorePointSearch {
  name: string;
  /** pg_create_restore_point's LSN (backup-db's restore-point-lsn): only the segments around it are read. */
  lsnHint?: bigint;
  /** Segments older than this are not searched (no backup could recover to them). */
  fromSegmentNumber: bigint;
  major: string;
  segmentSize: number;
  scratchDir: string;
}

/** Consecutive segments of one timeline, newest first, at most `size` to a batch. */
export function segmentBatches(candidates: ArchivedSegment[], size: number): ArchivedSegment[][] {
  const sorted = [...candidates].sort((a, b) =>
    a.number === b.number ? b.timeline - a.timeline : a.number > b.number ? -1 : 1,
  );
  const batches: ArchivedSegment[][] = [];
  for (const segment of sorted) {
    const batch = batches.at(-1);
    const last = batch?.at(-1);
    if (
      batch &&
      last &&
      batch.length < size &&
      last.timeline === segment.timeline &&
      last.number === segment.number + 1n
    )
      batch.push(segment);
    else batches.push([segment]);
  }
  return batches;
}

/** The LSN just past `segment`'s last byte. */
function segmentEndLsn(segment: ArchivedSegment, segmentSize: number): bigint {
  return segmentStartLsn(segment, segmentSize) + BigInt(segmentSize);
}

const BATCH_SEGMENTS = 8;
const PARALLEL_FETCHES = 4;

/** How much WAL before backup-db's restore-point-lsn is read first: the record is just before it. */
const NEAR_HINT_BYTES = 64n * 1024n;

/**
 * The newest restore point called `search.name` whose LSN `holds`, in the WAL pg_waldump reads on
 * `timeline` from `start` to `end`: `files` are fetched into the scratch directory, PARALLEL_FETCHES
 * side by side, and removed afterwards. Undefined when there is none, or when the archive has none of
 * the files (pg_waldump would read nothing).
 */
async function newestRestorePointIn(
  host: PgBackRestHost,
  waldump: string,
  search: RestorePointSearch,
  read: { files: string[]; timeline: number; start: bigint; end: bigint; holds: (lsn: bigint) => boolean },
): Promise<bigint | undefined> {
  try {
    const fetched: boolean[] = [];
    for (let index = 0; index < read.files.length; index += PARALLEL_FETCHES) {
      fetched.push(
        ...(await Promise.all(
          read.files.slice(index, index + PARALLEL_FETCHES).map((name) => fetchWal(host, name, search.scratchDir)),
        )),
      );
    }
    if (!fetched.some(Boolean)) return undefined;
    // pg_waldump starts at the first record after `start`. Without --end it would wait for the next
    // file as for a server still writing it (10 tries, 500 ms apart: 5 s of every restore).
    const { stdout } = await host.run(
      waldump,
      [
        '--path',
        search.scratchDir,
        '--timeline',
        String(read.timeline),
        '--start',
        formatLsn(read.start),
        '--end',
        formatLsn(read.end),
        '--rmgr',
        'XLOG',
      ],
      { okExitCodes: [0, 1] },
    );
    return restorePointsIn(stdout)
      .filter((point) => point.name === search.name && read.holds(point.lsn))
      .sort((a, b) => (a.lsn > b.lsn ? -1 : 1))[0]?.lsn;
  } finally {
    await host.run('rm', ['-f', '--', ...read.files.map((name) => `${search.scratchDir}/${name}`)]);
  }
}

/**
 * The restore point in the last 64 KiB of WAL before the LSN backup-db reported (its record ends
 * there), read from the one archived segment that holds it: pg_waldump decodes kilobytes instead of
 * the whole segments around it (seconds of a busy database's full-page images). Undefined when it is
 * not there (another timeline, a record crossing segments, a wrong hint): the full search follows.
 */
async function findNearHint(
  host: PgBackRestHost,
  waldump: string,
  segments: ArchivedSegment[],
  search: RestorePointSearch,
): Promise<FoundRestorePoint | undefined> {
  const hint = search.lsnHint!;
  const number = segmentEndingAt(hint, 0, search.segmentSize).number;
  const holding = segments.filter((segment) => segment.number === number && number >= search.fromSegmentNumber);
  if (holding.length !== 1) return undefined;
  const [segment] = holding;
  const segmentStart = segmentStartLsn(segment, search.segmentSize);
  const from = hint - NEAR_HINT_BYTES > segmentStart ? hint - NEAR_HINT_BYTES : segmentStart;
  const lsn = await newestRestorePointIn(host, waldump, search, {
    files: [segment.name],
    timeline: segment.timeline,
    start: from,
    end: segmentEndLsn(segment, search.segmentSize),
    holds: (found) => found >= from && found < hint,
  });
  return lsn === undefined ? undefined : { name: search.name, lsn, timeline: segment.timeline, segment: segment.name };
}

/**
 * Finds the newest restore point called `name`, reading archived segments from the newest down with
 * pg_waldump, a batch of consecutive segments at a time (fetched side by side, with the segment
 * after the batch, for a record that crosses into it).
 */
export async function findRestorePoint(
  host: PgBackRestHost,
  segments: ArchivedSegment[],
  search: RestorePointSearch,
): Promise<FoundRestorePoint | undefined> {
  const waldump = await host.serverProgram('pg_waldump', search.major);
  const near = search.lsnHint === undefined ? undefined : await findNearHint(host, waldump, segments, search);
  if (near) return near;
  const hinted =
    search.lsnHint === undefined ? undefined : segmentEndingAt(search.lsnHint, 0, search.segmentSize).number;
  const candidates = segments.filter(
    (segment) =>
      segment.number >= search.fromSegmentNumber &&
      (hinted === undefined || segment.number === hinted || segment.number === hinted - 1n),
  );
  core.info(
    `Looking for restore point "${search.name}" in ${candidates.length} archived WAL segment(s)${hinted === undefined ? '' : ` around LSN ${formatLsn(search.lsnHint!)}`}.`,
  );
  let read = 0;
  for (const batch of segmentBatches(candidates, BATCH_SEGMENTS)) {
    const lowest = batch[batch.length - 1];
    const after = segments.find(
      (other) => other.timeline === batch[0].timeline && other.number === batch[0].number + 1n,
    );
    // From the lowest segment through the batch and the one after it (a record crossing into it),
    // and no further: past --end pg_waldump would wait 5 s for a file that is not there.
    const lsn = await newestRestorePointIn(host, waldump, search, {
      files: [...batch, ...(after ? [after] : [])].map((segment) => segment.name),
      timeline: lowest.timeline,
      start: segmentStartLsn(lowest, search.segmentSize),
      end: segmentEndLsn(after ?? batch[0], search.segmentSize),
      holds: (found) => {
        const number = segmentEndingAt(found + 1n, 0, search.segmentSize).number;
        return number >= lowest.number && number <= batch[0].number;
      },
    });
    if (lsn !== undefined) {
      const segment = batch.find(
        (candidate) => candidate.number === segmentEndingAt(lsn + 1n, 0, search.segmentSize).number,
      )!;
      return { name: search.name, lsn, timeline: segment.timeline, segment: segment.name };
    }
    read += batch.length;
    if (read % 64 < BATCH_SEGMENTS && read < candidates.length)
      core.info(`... ${read} of ${candidates.length} segments read.`);
  }
  return undefined;
}

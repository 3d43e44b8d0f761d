/**
 * Write-ahead log arithmetic, as PostgreSQL defines it (access/xlog_internal.h): an LSN is a 64-bit
 * byte position written "hi/lo" in hex; a segment file name is the timeline, then the segment number
 * split into "log id" and "segment in log id", eight hex digits each; a timeline's history file
 * lists, for each ancestor timeline, the LSN where the next one branched off.
 */
export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;
const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not an LSN (hi/lo in hex, e.g. 0/16B3748)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

const hex8 = (value: bigint | number) => value.toString(16).toUpperCase().padStart(8, '0');

export interface Segment {
  timeline: number;
  /** Segment number: LSN / segment size. */
  number: bigint;
}

export function segmentFileName(segment: Segment, segmentSize = DEFAULT_SEGMENT_SIZE): string {
  const perLogId = 0x100000000n / BigInt(segmentSize);
  return `${hex8(segment.timeline)}${hex8(segment.number / perLogId)}${hex8(segment.number % perLogId)}`;
}

export function parseSegmentFileName(name: string, segmentSize = DEFAULT_SEGMENT_SIZE): Segment | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (!match) return undefined;
  const perLogId = 0x100000000n / BigInt(segmentSize);
  return { timeline: parseInt(match[1], 16), number: BigInt(`0x${match[2]}`) * perLogId + BigInt(`0x${match[3]}`) };
}

/**
 * The segment holding the WAL that ends at `lsn` (XLByteToPrevSeg, as pg_walfile_name does): an LSN
 * on a segment boundary belongs to the segment before it.
 */
export function segmentEndingAt(lsn: bigint, timeline: number, segmentSize = DEFAULT_SEGMENT_SIZE): Segment {
  return { timeline, number: (lsn - 1n) / BigInt(segmentSize) };
}

export function segmentStartLsn(segment: Segment, segmentSize = DEFAULT_SEGMENT_SIZE): bigint {
  return segment.number * BigInt(segmentSize);
}

/** One line of a timeline history file: `timeline` ran until `switchpoint`, where the next began. */
export interface TimelineBranch {
  timeline: number;
  switchpoint: bigint;
}

/** Parses `<timeline>.history` (timeline, tab, switchpoint LSN, tab, reason; # comments). */
export function parseTimelineHistory(text: string): TimelineBranch[] {
  const branches: TimelineBranch[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [timeline, switchpoint] = line.split(/\s+/);
    branches.push({ timeline: Number(timeline), switchpoint: parseLsn(switchpoint) });
  }
  return branches;
}

/**
 * Which timeline of `timeline`'s ancestry the WAL position `lsn` is on: recovery that follows
 * `timeline` replays each ancestor up to its switchpoint, then the next.
 */
export function timelineAt(lsn: bigint, timeline: number, history: TimelineBranch[]): number {
  for (const branch of history) if (lsn < branch.switchpoint) return branch.timeline;
  return timeline;
}

export function timelineHistoryFileName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

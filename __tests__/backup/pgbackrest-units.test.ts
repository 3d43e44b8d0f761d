import { restorePointsIn, segmentBatches, type ArchivedSegment } from '../../shared/backup/pgbackrest/archive.js';
import { parseStanzaInfo, type BackupSet, type StanzaInfo } from '../../shared/backup/pgbackrest/info.js';
import {
  earlyPlan,
  recoveryTimeText,
  sameRestore,
  type RecoveryPlan,
} from '../../shared/backup/pgbackrest/recovery.js';
import {
  formatLsn,
  parseLsn,
  parseSegmentFileName,
  parseTimelineHistory,
  segmentEndingAt,
  segmentFileName,
  timelineAt,
} from '../../shared/backup/pgbackrest/wal.js';

/** The WAL arithmetic and pgBackRest output parsing, against values PostgreSQL and pgBackRest print. */
describe('pgBackRest and WAL helpers', () => {
  it('reads and writes LSNs as PostgreSQL prints them', () => {
    expect(parseLsn('0/8000028')).toBe(0x8000028n);
    expect(parseLsn('1A/FF')).toBe((0x1an << 32n) | 0xffn);
    expect(formatLsn(0x8000090n)).toBe('0/8000090');
    expect(() => parseLsn('08000028')).toThrow('"08000028" is not an LSN');
  });

  it('names segments as pg_walfile_name does, for 16 MiB and 64 MiB segments', () => {
    // SELECT pg_walfile_name('0/80000C8') on timeline 1 with 16 MiB segments.
    expect(segmentFileName(segmentEndingAt(0x80000c8n, 1))).toBe('000000010000000000000008');
    // An LSN on a segment boundary belongs to the segment before it.
    expect(segmentFileName(segmentEndingAt(0x9000000n, 1))).toBe('000000010000000000000008');
    expect(segmentFileName(segmentEndingAt((1n << 32n) + 0x28n, 3))).toBe('000000030000000100000000');
    expect(segmentFileName(segmentEndingAt(0x1c000028n, 2, 64 * 1024 * 1024), 64 * 1024 * 1024)).toBe(
      '000000020000000000000007',
    );
    expect(parseSegmentFileName('000000030000000100000002')).toEqual({ timeline: 3, number: 0x102n });
    expect(parseSegmentFileName('00000002.history')).toBeUndefined();
  });

  it('follows a timeline history to the timeline an LSN is on', () => {
    const history = parseTimelineHistory(
      '1\t0/9000090\tbefore 2026-01-01 00:00:00+00\n\n2\t0/C0000A0\tat restore point "x"\n',
    );
    expect(history).toEqual([
      { timeline: 1, switchpoint: 0x9000090n },
      { timeline: 2, switchpoint: 0xc0000a0n },
    ]);
    expect(timelineAt(0x8000000n, 3, history)).toBe(1);
    expect(timelineAt(0x9000090n, 3, history)).toBe(2);
    expect(timelineAt(0xd000000n, 3, history)).toBe(3);
  });

  it('keeps the 64-bit system identifier exact and reads backups of the current database only', () => {
    const json = JSON.stringify([
      {
        name: 'app',
        status: { code: 0, message: 'ok' },
        db: [
          { id: 1, 'system-id': 1, version: '14' },
          { id: 2, 'system-id': 2, version: '15' },
        ],
        archive: [
          { database: { id: 1 }, id: '14-1', min: '000000010000000000000001', max: '000000010000000000000009' },
          { database: { id: 2 }, id: '15-2', min: '000000010000000000000001', max: '000000010000000000000004' },
        ],
        backup: [
          {
            label: '20260101-000000F',
            type: 'full',
            database: { id: 1 },
            archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
            lsn: { start: '0/2000028', stop: '0/2000100' },
            timestamp: { start: 1, stop: 2 },
            info: { size: 10, repository: { delta: 5 } },
          },
          {
            label: '20260102-000000F',
            type: 'full',
            database: { id: 2 },
            archive: { start: '000000020000000000000003', stop: '000000020000000000000003' },
            lsn: { start: '0/3000028', stop: '0/3000100' },
            timestamp: { start: 3, stop: 4 },
            info: { size: 10, repository: { delta: 5 } },
          },
        ],
      },
    ]).replace('"system-id":2', '"system-id":7712485417907402659');
    const info = parseStanzaInfo(json, 'app');
    expect(info.systemId).toBe('7712485417907402659');
    expect(info.archiveId).toBe('15-2');
    expect(info.backups.map((backup) => [backup.label, backup.timeline, formatLsn(backup.stopLsn)])).toEqual([
      ['20260102-000000F', 2, '0/3000100'],
    ]);
    expect(() => parseStanzaInfo(json, 'other')).toThrow('pgbackrest info does not list stanza "other".');
  });

  it("starts a side restore early only from what the point's LSN tells, and the archive's plan confirms or replaces it", () => {
    const backup = (label: string, stop: string, timeline: number): BackupSet => ({
      label,
      type: 'full',
      startedAt: new Date(0),
      stoppedAt: new Date(1000),
      startLsn: parseLsn(stop) - 0x100n,
      stopLsn: parseLsn(stop),
      archiveStart: '',
      archiveStop: '',
      timeline,
      databaseBytes: 0,
      repositoryBytes: 0,
    });
    const info: StanzaInfo = {
      name: 'app',
      statusCode: 0,
      statusMessage: 'ok',
      backups: [backup('20260101-000000F', '0/2000100', 1), backup('20260102-000000F', '0/5000100', 1)],
    };
    const point = { kind: 'name' as const, name: 'before-v2', lsnHint: parseLsn('0/4000028') };
    const early = earlyPlan(point, { kind: 'latest' }, info)!;
    // The newest backup that ends before the point, on its timeline.
    expect([early.backup.label, early.timeline]).toEqual(['20260101-000000F', 1]);
    expect(earlyPlan(point, { kind: 'label', label: '20260102-000000F' }, info)).toBeUndefined();
    expect(earlyPlan({ ...point, lsnHint: undefined }, { kind: 'latest' }, info)).toBeUndefined();
    expect(earlyPlan(point, { kind: 'random', windowMs: 1 }, info)).toBeUndefined();
    expect(earlyPlan({ ...point, lsnHint: parseLsn('0/1000000') }, { kind: 'latest' }, info)).toBeUndefined();

    const planned = (timeline: number, label = '20260101-000000F'): RecoveryPlan => ({
      ...early,
      backup: info.backups.find((candidate) => candidate.label === label)!,
      timeline,
      description: 'read from the archive',
    });
    expect(sameRestore(planned(1), early)).toBe(true);
    expect(sameRestore(planned(3), early)).toBe(false);
    expect(sameRestore(planned(1, '20260102-000000F'), early)).toBe(false);
  });

  it('finds restore points in pg_waldump output, names with spaces included', () => {
    const output = [
      'rmgr: XLOG        len (rec/tot):     98/    98, tx:          0, lsn: 0/08000028, prev 0/07000100, desc: RESTORE_POINT before-drop',
      'rmgr: XLOG        len (rec/tot):     24/    24, tx:          0, lsn: 0/08000090, prev 0/08000028, desc: SWITCH ',
      'rmgr: XLOG        len (rec/tot):     98/    98, tx:          0, lsn: 0/09000028, prev 0/08000090, desc: RESTORE_POINT pgBackRest Archive Check',
    ].join('\n');
    expect(restorePointsIn(output)).toEqual([
      { name: 'before-drop', lsn: 0x8000028n },
      { name: 'pgBackRest Archive Check', lsn: 0x9000028n },
    ]);
  });

  it('batches consecutive segments of one timeline, newest first', () => {
    const segment = (timeline: number, number: number): ArchivedSegment => ({
      timeline,
      number: BigInt(number),
      name: `${timeline}:${number}`,
      archivedAt: new Date(0),
    });
    const batches = segmentBatches(
      [1, 2, 3, 5, 6].map((number) => segment(1, number)).concat([segment(2, 6), segment(2, 7)]),
      2,
    );
    expect(batches.map((batch) => batch.map((item) => item.name))).toEqual([
      ['2:7', '2:6'],
      ['1:6', '1:5'],
      ['1:3', '1:2'],
      ['1:1'],
    ]);
  });

  it('writes recovery target times as PostgreSQL and pgBackRest read them', () => {
    expect(recoveryTimeText(new Date('2026-05-04T03:02:01.123Z'))).toBe('2026-05-04 03:02:01.123+00');
  });
});

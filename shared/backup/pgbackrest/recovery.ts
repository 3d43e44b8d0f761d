import { randomInt } from 'node:crypto';
import { ActionError, InputError } from '../../errors.js';
import { findRestorePoint, timelineHistory, type ArchivedSegment, type FoundRestorePoint } from './archive.js';
import type { PgBackRestHost } from './host.js';
import type { BackupSet, StanzaInfo } from './info.js';
import { formatLsn, parseSegmentFileName, timelineAt } from './wal.js';

/**
 * What a point-in-time recovery will do, decided before anything is touched: the target (a named
 * restore point, a time, or the end of a backup), the backup set it starts from, and the timeline
 * it follows. Every refusal happens here: a label that is not in the repository, a restore point
 * that is not in the archived WAL, a time no backup precedes or that lies in the future.
 */
export type RecoveryTarget =
  { kind: 'name'; name: string; lsnHint?: bigint } | { kind: 'time'; time: Date } | { kind: 'immediate' };

/** "latest", "random" (among those finished within `windowMs`), or a backup label. */
export type BackupSetChoice =
  { kind: 'latest' } | { kind: 'random'; windowMs: number } | { kind: 'label'; label: string };

export interface RecoveryPlan {
  target: RecoveryTarget;
  backup: BackupSet;
  /** The timeline recovery follows (the restore point's), when it is not simply the latest. */
  timeline?: number;
  restorePoint?: FoundRestorePoint;
  /** For people: "restore point "x" at 0/8000028 on timeline 1, from backup 20260101-000000F". */
  description: string;
}

export interface PlanContext {
  host: PgBackRestHost;
  info: StanzaInfo;
  segments: ArchivedSegment[];
  segmentSize: number;
  scratchDir: string;
  /** Names the input a refusal is about. */
  inputs: { target: string; backupSet: string };
  now?: Date;
}

export function describeTarget(target: RecoveryTarget): string {
  if (target.kind === 'name') return `restore point "${target.name}"`;
  if (target.kind === 'time') return `time ${target.time.toISOString()}`;
  return 'the end of the backup (immediate)';
}

function pickBackup(candidates: BackupSet[], choice: BackupSetChoice, context: PlanContext, why: string): BackupSet {
  const all = context.info.backups;
  if (choice.kind === 'label') {
    const named = all.find((backup) => backup.label === choice.label);
    if (!named) {
      throw new InputError(
        context.inputs.backupSet,
        `is "${choice.label}", which is not a backup of stanza "${context.info.name}" (it has: ${all.map((backup) => backup.label).join(', ') || 'no backups'}). Nothing was restored.`,
      );
    }
    if (!candidates.includes(named))
      throw new InputError(
        context.inputs.backupSet,
        `is "${choice.label}", which cannot recover to ${why}: it ends after it, or on another timeline. Nothing was restored.`,
      );
    return named;
  }
  if (candidates.length === 0)
    throw new ActionError(
      `No backup of stanza "${context.info.name}" can recover to ${why}: none ends before it on its timeline. Nothing was restored.`,
    );
  if (choice.kind === 'latest') return candidates[candidates.length - 1];
  const now = (context.now ?? new Date()).getTime();
  const recent = candidates.filter((backup) => now - backup.stoppedAt.getTime() <= choice.windowMs);
  if (recent.length === 0)
    throw new ActionError(
      `No backup of stanza "${context.info.name}" finished within the random-window (${Math.round(choice.windowMs / 3_600_000)}h); the newest is ${candidates[candidates.length - 1].label}. Nothing was restored.`,
    );
  return recent[randomInt(recent.length)];
}

/** The newest timeline the archive knows (its segments and history files). */
function latestTimeline(segments: ArchivedSegment[]): number {
  return segments.reduce((latest, segment) => Math.max(latest, segment.timeline), 1);
}

/** Backups a recovery along `timeline` can start from: their end lies on that timeline's ancestry. */
async function backupsOnTimeline(context: PlanContext, timeline: number): Promise<BackupSet[]> {
  const history = await timelineHistory(context.host, timeline, context.scratchDir);
  return context.info.backups.filter(
    (backup) => timelineAt(backup.stopLsn, timeline, history) === backup.timeline && backup.timeline <= timeline,
  );
}

export async function planRecovery(
  target: RecoveryTarget,
  choice: BackupSetChoice,
  context: PlanContext,
  major: string,
): Promise<RecoveryPlan> {
  if (context.info.backups.length === 0)
    throw new ActionError(
      `Stanza "${context.info.name}" has no valid backup to restore (pgbackrest info: ${context.info.statusMessage}). Nothing was restored.`,
    );
  if (target.kind === 'immediate') {
    const backup = pickBackup(context.info.backups, choice, context, 'its own end');
    return {
      target,
      backup,
      description: `the end of backup ${backup.label} (${backup.type}, finished ${backup.stoppedAt.toISOString()})`,
    };
  }
  if (target.kind === 'time') {
    const now = context.now ?? new Date();
    if (target.time > now)
      throw new InputError(
        context.inputs.target,
        `is ${target.time.toISOString()}, which is in the future. Nothing was restored.`,
      );
    const onTimeline = await backupsOnTimeline(context, latestTimeline(context.segments));
    const backup = pickBackup(
      onTimeline.filter((candidate) => candidate.stoppedAt <= target.time),
      choice,
      context,
      describeTarget(target),
    );
    return {
      target,
      backup,
      description: `${describeTarget(target)}, from backup ${backup.label} (finished ${backup.stoppedAt.toISOString()})`,
    };
  }
  const oldest = context.info.backups
    .map((backup) => parseSegmentFileName(backup.archiveStart, context.segmentSize)?.number ?? 0n)
    .reduce((min, number) => (number < min ? number : min));
  const found = await findRestorePoint(context.host, context.segments, {
    name: target.name,
    lsnHint: target.lsnHint,
    fromSegmentNumber: oldest,
    major,
    segmentSize: context.segmentSize,
    scratchDir: context.scratchDir,
  });
  if (!found) {
    throw new InputError(
      context.inputs.target,
      `is "${target.name}", and no restore point of that name is in the archived WAL of stanza "${context.info.name}"${target.lsnHint === undefined ? ' since its oldest backup' : ` around LSN ${formatLsn(target.lsnHint)}`}. Nothing was restored.`,
      {
        hint: 'Use the restore-point output of the backup-db step that created it; a restore point whose WAL was never archived cannot be recovered to.',
      },
    );
  }
  const onTimeline = await backupsOnTimeline(context, found.timeline);
  const backup = pickBackup(
    onTimeline.filter((candidate) => candidate.stopLsn <= found.lsn),
    choice,
    context,
    describeTarget(target),
  );
  return {
    target,
    backup,
    timeline: found.timeline,
    restorePoint: found,
    description: `${describeTarget(target)} at ${formatLsn(found.lsn)} on timeline ${found.timeline}, from backup ${backup.label} (finished ${backup.stoppedAt.toISOString()})`,
  };
}

/** recovery_target_time as PostgreSQL and pgBackRest both read it: "2026-01-02 03:04:05.678+00". */
export function recoveryTimeText(time: Date): string {
  return `${time.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

/** `pgbackrest restore` options for a plan; the destination's own options are added by the caller. */
export function restoreOptions(plan: RecoveryPlan): string[] {
  const options = [`--set=${plan.backup.label}`];
  const { target } = plan;
  if (target.kind === 'name')
    options.push(
      '--type=name',
      `--target=${target.name}`,
      `--target-timeline=${plan.timeline}`,
      '--target-action=promote',
    );
  else if (target.kind === 'time')
    options.push('--type=time', `--target=${recoveryTimeText(target.time)}`, '--target-action=promote');
  else options.push('--type=immediate', '--target-action=promote');
  return options;
}

/**
 * The plan a restore to a named point can start from before the archived WAL is read, when the
 * point's LSN is given (backup-db's restore-point-lsn): the backup planRecovery picks when the
 * point lies on the timeline of the newest backup that ends before it, as it does unless the
 * cluster changed timeline since. The plan read from the archive confirms it (sameRestore) or
 * replaces it. Undefined when nothing can be told in advance: no LSN, a random backup set, no such
 * backup.
 */
export function earlyPlan(target: RecoveryTarget, choice: BackupSetChoice, info: StanzaInfo): RecoveryPlan | undefined {
  if (target.kind !== 'name' || target.lsnHint === undefined || choice.kind === 'random') return undefined;
  const lsn = target.lsnHint;
  const before = info.backups.filter((backup) => backup.stopLsn <= lsn);
  const backup = choice.kind === 'label' ? before.find((candidate) => candidate.label === choice.label) : before.at(-1);
  if (!backup) return undefined;
  return {
    target,
    backup,
    timeline: backup.timeline,
    description: `${describeTarget(target)} at about ${formatLsn(lsn)}, from backup ${backup.label}`,
  };
}

/** Whether two plans run the same `pgbackrest restore`. */
export function sameRestore(a: RecoveryPlan, b: RecoveryPlan): boolean {
  return JSON.stringify(restoreOptions(a)) === JSON.stringify(restoreOptions(b));
}

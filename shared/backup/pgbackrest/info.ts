import { ActionError } from '../../errors.js';
import { parseLsn, parseSegmentFileName } from './wal.js';

/**
 * What `pgbackrest info --output=json` says about one stanza: its backups (label, type, when, the
 * LSNs and WAL they span) and the range of WAL in its archive. Read in the shapes pgBackRest 2.x
 * writes (command/info/info.c).
 */
export interface BackupSet {
  label: string;
  type: 'full' | 'diff' | 'incr';
  startedAt: Date;
  stoppedAt: Date;
  startLsn: bigint;
  stopLsn: bigint;
  /** First and last WAL segment the backup needs. */
  archiveStart: string;
  archiveStop: string;
  timeline: number;
  /** Database size, and what the backup holds in the repository (compressed, deduplicated). */
  databaseBytes: number;
  repositoryBytes: number;
}

export interface StanzaInfo {
  name: string;
  /** 0 ok, 2 no valid backups, others: see `message`. */
  statusCode: number;
  statusMessage: string;
  /** The database system identifier of the stanza's current database, as text (it does not fit a double). */
  systemId?: string;
  /** PostgreSQL major version of the stanza's current database, e.g. "15". */
  databaseVersion?: string;
  /** Archive id of the current database ("15-1"), and the oldest and newest WAL segment in it. */
  archiveId?: string;
  archiveMin?: string;
  archiveMax?: string;
  /** Valid backups of the current database, oldest first. */
  backups: BackupSet[];
}

export const STANZA_OK = 0;
export const STANZA_NO_BACKUPS = 2;

interface RawStanza {
  name: string;
  status: { code: number; message: string };
  db?: { id: number; 'system-id': string; version: string }[];
  archive?: { database: { id: number }; id: string; min: string | null; max: string | null }[];
  backup?: {
    label: string;
    type: 'full' | 'diff' | 'incr';
    error?: boolean;
    database: { id: number };
    archive: { start: string | null; stop: string | null };
    lsn?: { start: string; stop: string };
    timestamp: { start: number; stop: number };
    info: { size: number; repository: { delta: number } };
  }[];
}

/** JSON.parse would round a 64-bit system identifier; keep it as the digits it is. */
function parseKeepingSystemIds(json: string): unknown {
  return JSON.parse(json.replace(/"system-id"\s*:\s*(\d+)/g, '"system-id":"$1"'));
}

export function parseStanzaInfo(json: string, stanza: string): StanzaInfo {
  let parsed: unknown;
  try {
    parsed = parseKeepingSystemIds(json);
  } catch (error) {
    throw new ActionError(`pgbackrest info printed something that is not JSON: ${(error as Error).message}`);
  }
  const raw = (Array.isArray(parsed) ? (parsed as RawStanza[]) : []).find((entry) => entry.name === stanza);
  if (!raw) throw new ActionError(`pgbackrest info does not list stanza "${stanza}".`);
  // After a stanza-upgrade the stanza holds several databases; only the current (last) one is restorable here.
  const db = raw.db?.at(-1);
  const archive = db ? raw.archive?.find((entry) => entry.database.id === db.id) : undefined;
  const backups: BackupSet[] = [];
  for (const backup of raw.backup ?? []) {
    if (
      backup.error ||
      !db ||
      backup.database.id !== db.id ||
      !backup.lsn ||
      !backup.archive.start ||
      !backup.archive.stop
    )
      continue;
    backups.push({
      label: backup.label,
      type: backup.type,
      startedAt: new Date(backup.timestamp.start * 1000),
      stoppedAt: new Date(backup.timestamp.stop * 1000),
      startLsn: parseLsn(backup.lsn.start),
      stopLsn: parseLsn(backup.lsn.stop),
      archiveStart: backup.archive.start,
      archiveStop: backup.archive.stop,
      timeline: parseSegmentFileName(backup.archive.start)?.timeline ?? 1,
      databaseBytes: backup.info.size,
      repositoryBytes: backup.info.repository.delta,
    });
  }
  return {
    name: raw.name,
    statusCode: raw.status.code,
    statusMessage: raw.status.message,
    systemId: db?.['system-id'],
    databaseVersion: db?.version,
    archiveId: archive?.id,
    archiveMin: archive?.min ?? undefined,
    archiveMax: archive?.max ?? undefined,
    backups,
  };
}

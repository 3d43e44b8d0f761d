import type pg from 'pg';
import { ActionError } from '../../errors.js';
import { serverVersion } from '../../postgres/connection.js';
import type { StanzaInfo } from './info.js';
import { DEFAULT_SEGMENT_SIZE } from './wal.js';

/**
 * What the live server says about itself that a physical backup depends on: its system identifier
 * (which the stanza must match: a stanza of another cluster restores another cluster), its WAL
 * segment size, whether it is a primary, and where its files are.
 */
export interface LiveServer {
  version: { text: string; major: number };
  systemId: string;
  segmentSize: number;
  inRecovery: boolean;
  /** data_directory and the configuration files (superusers and pg_read_all_settings members only). */
  files?: {
    dataDirectory: string;
    hbaFile: string;
    identFile: string;
    listenAddresses: string;
    socketDirectories: string;
  };
}

export async function describeLiveServer(client: pg.Client): Promise<LiveServer> {
  const version = await serverVersion(client);
  const { rows } = await client.query<{ system_id: string; segment_size: string; in_recovery: boolean }>(
    `SELECT system_identifier::text AS system_id, pg_is_in_recovery() AS in_recovery,
            (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS segment_size
       FROM pg_control_system()`,
  );
  let files: LiveServer['files'];
  try {
    const { rows: settings } = await client.query<{
      data_directory: string;
      hba_file: string;
      ident_file: string;
      listen_addresses: string;
      socket_directories: string;
    }>(
      `SELECT current_setting('data_directory') AS data_directory, current_setting('hba_file') AS hba_file, current_setting('ident_file') AS ident_file,
              current_setting('listen_addresses') AS listen_addresses, current_setting('unix_socket_directories') AS socket_directories`,
    );
    const [row] = settings;
    files = {
      dataDirectory: row.data_directory,
      hbaFile: row.hba_file,
      identFile: row.ident_file,
      listenAddresses: row.listen_addresses,
      socketDirectories: row.socket_directories,
    };
  } catch {
    // Only superusers and pg_read_all_settings may read file locations; callers ask for them as inputs then.
    files = undefined;
  }
  return {
    version,
    systemId: rows[0].system_id,
    segmentSize: Number(rows[0].segment_size) || DEFAULT_SEGMENT_SIZE,
    inRecovery: rows[0].in_recovery,
    files,
  };
}

/** A stanza that describes another cluster is refused: its backups cannot be this database's. */
export function ensureStanzaOfServer(info: StanzaInfo, server: LiveServer): void {
  if (info.systemId && info.systemId !== server.systemId) {
    throw new ActionError(
      `Stanza "${info.name}" belongs to the cluster with system identifier ${info.systemId}, but this server's is ${server.systemId}: its backups and WAL are another cluster's.`,
      { hint: 'Check pgbackrest-stanza, and that database-url points at the cluster that stanza backs up.' },
    );
  }
  if (info.databaseVersion && info.databaseVersion !== String(server.version.major)) {
    throw new ActionError(
      `Stanza "${info.name}" holds PostgreSQL ${info.databaseVersion} backups, but this server runs ${server.version.major} (run pgbackrest stanza-upgrade after a major upgrade).`,
    );
  }
}

import type { BackupMetadata } from '../../shared/backup/metadata.js';
import { restoreTables, TABLE_CONTENTS, type RestoredTable, type TableContent } from '../../shared/backup/tables.js';
import { formatDuration } from '../../shared/duration.js';
import { InputError } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { enumInput, listInput, stringInput } from '../../shared/inputs.js';
import { setOutputs } from '../../shared/outputs.js';
import type { PgTarget } from '../../shared/postgres/connection.js';
import { findPgTool, type PgClientTool } from '../../shared/postgres/pg-tools.js';
import { keyValueTable, markdownTable, writeSummary } from '../../shared/summary.js';

/**
 * restore-db's partial restore inputs (tables, tables-content, tables-schema) and its summary part,
 * shared by both methods: from a dump, and from a recovered side cluster.
 */
export interface TablesInputs {
  tables: string[];
  content: TableContent;
  intoSchema?: string;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export function readTablesInputs(): TablesInputs {
  const tables = listInput('tables', {
    itemPattern: TABLE_NAME,
    itemDescription: 'a table name, optionally schema-qualified (public.orders)',
  });
  const content = enumInput('tables-content', TABLE_CONTENTS, { default: 'data' });
  const intoSchema = stringInput('tables-schema', {
    pattern: SCHEMA_NAME,
    patternDescription: 'a schema name (letters, digits, "_" or "$")',
  });
  if (tables.length === 0 && intoSchema)
    throw new InputError('tables-schema', 'only applies with tables: name the tables to restore into it.');
  return { tables, content, intoSchema };
}

export function restoredTablesSummary(restored: RestoredTable[]): string {
  return [
    '\n### Tables restored\n\n',
    markdownTable(
      ['From the backup', 'Into', 'Rows'],
      restored.map((table) => [table.from, table.into, table.rows]),
    ),
  ].join('');
}

export interface TablesFromDump {
  tables: TablesInputs;
  target: PgTarget;
  server: { major: number };
  pgRestore: PgClientTool;
  archive: string;
  metadata?: BackupMetadata;
  origin: string;
  checksum: string;
  noOwner: boolean;
  pgBinDir?: string;
  workDir: string;
  started: number;
}

/** Partial restore from a verified dump: only the named tables, into the database in database-url. */
export async function restoreTablesFromDump(request: TablesFromDump): Promise<void> {
  const [pgDump, psql] = await Promise.all([
    findPgTool('pg_dump', request.server.major, request.pgBinDir),
    findPgTool('psql', request.server.major, request.pgBinDir),
  ]);
  emitEvent('restore_start', {
    database: request.target.database,
    tables: request.tables.tables,
    checksum: request.checksum,
    source: request.origin,
  });
  const restored = await restoreTables({
    source: { kind: 'archive', path: request.archive, rowCounts: request.metadata?.rowCounts },
    live: request.target,
    tables: request.tables.tables,
    content: request.tables.content,
    intoSchema: request.tables.intoSchema,
    noOwner: request.noOwner,
    pgDump,
    pgRestore: request.pgRestore,
    psql,
    workDir: request.workDir,
  });
  const durationMs = Date.now() - request.started;
  setOutputs({
    database: request.target.database,
    checksum: request.checksum,
    'restored-tables': restored,
    'duration-ms': durationMs,
  });
  await writeSummary(
    [
      `## Tables restored into ${request.target.database}\n`,
      keyValueTable([
        ['Backup', request.origin],
        ['Taken', request.metadata ? `${request.metadata.createdAt}, label ${request.metadata.label}` : undefined],
        ['SHA-256', `\`${request.checksum}\` (verified before restoring)`],
        [
          'Content',
          request.tables.intoSchema
            ? `definition and rows, into the new schema ${request.tables.intoSchema}`
            : request.tables.content === 'data'
              ? 'rows, into the existing (empty) tables'
              : 'definition and rows',
        ],
        ['Took', formatDuration(durationMs)],
      ]),
      restoredTablesSummary(restored),
    ].join(''),
  );
  emitEvent('restore_complete', { database: request.target.database, tables: restored, duration_ms: durationMs });
}

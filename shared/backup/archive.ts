import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ActionError } from '../errors.js';
import { quoteIdent } from '../postgres/connection.js';
import type { PgClientTool } from '../postgres/pg-tools.js';
import { runProcess } from '../process.js';

/**
 * Proving a dump is usable without restoring it: a custom or directory archive's table of contents
 * (pg_restore --list) must list every table that was meant to be dumped, with its data; a plain
 * dump must end with pg_dump's completion marker and create and fill every such table.
 */
export interface ArchiveListing {
  /** "Dumped by pg_dump version" from the archive header. */
  dumpedBy?: string;
  /** "Dumped from database version". */
  dumpedFrom?: string;
  /** TOC entries after the ids: "TABLE public users postgres", "TABLE DATA public users postgres"... */
  entries: string[];
}

export async function listArchive(pgRestore: PgClientTool, archive: string): Promise<ArchiveListing> {
  const { stdout } = await runProcess(pgRestore.path, ['--list', archive], { timeoutMs: 10 * 60_000 });
  const header = (name: string) => new RegExp(`^;\\s+${name}:\\s*(.+)$`, 'm').exec(stdout)?.[1].trim();
  const entries = stdout
    .split('\n')
    .map((line) => /^\d+;\s+\d+\s+\d+\s+(.+)$/.exec(line)?.[1])
    .filter((entry): entry is string => entry !== undefined);
  return { dumpedBy: header('Dumped by pg_dump version'), dumpedFrom: header('Dumped from database version'), entries };
}

export interface ExpectedTables {
  /** "schema.table" of every table the dump must define... */
  tables: { schema: string; name: string }[];
  /** ...and of those whose rows it must hold (ordinary tables, unless schema-only). */
  withData: { schema: string; name: string }[];
}

const hasEntry = (entries: string[], kind: string, table: { schema: string; name: string }) =>
  entries.some(
    (entry) =>
      entry === `${kind} ${table.schema} ${table.name}` || entry.startsWith(`${kind} ${table.schema} ${table.name} `),
  );

/** Problems with an archive listing, empty when every expected table and its data are there. */
export function checkListing(listing: ArchiveListing, expected: ExpectedTables): string[] {
  const problems: string[] = [];
  const missing = expected.tables.filter((table) => !hasEntry(listing.entries, 'TABLE', table));
  const missingData = expected.withData.filter((table) => !hasEntry(listing.entries, 'TABLE DATA', table));
  if (missing.length)
    problems.push(`no TABLE entry for ${missing.map((table) => `${table.schema}.${table.name}`).join(', ')}`);
  if (missingData.length)
    problems.push(`no TABLE DATA entry for ${missingData.map((table) => `${table.schema}.${table.name}`).join(', ')}`);
  return problems;
}

/** "schema"."name" as pg_dump --quote-all-identifiers writes it. */
function quotedName(table: { schema: string; name: string }): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

export const PLAIN_COMPLETE_MARKER = '-- PostgreSQL database dump complete';

/** Checks a plain SQL dump (raw or gzip) in one streaming pass. */
export async function checkPlainDump(file: string, gzip: boolean, expected: ExpectedTables): Promise<string[]> {
  let input: Readable = createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (gzip) input = input.pipe(createGunzip());
  const created = new Set<string>();
  const filled = new Set<string>();
  let lastMeaningful = '';
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.startsWith('CREATE ')) {
        const match = /^CREATE (?:UNLOGGED )?TABLE ("(?:[^"]|"")+"\."(?:[^"]|"")+") /.exec(line);
        if (match) created.add(match[1]);
      } else if (line.startsWith('COPY ')) {
        const match = /^COPY ("(?:[^"]|"")+"\."(?:[^"]|"")+") /.exec(line);
        if (match) filled.add(match[1]);
      }
      // pg_dump (since the 2025 minor releases) ends with "--" and "\unrestrict <key>" after the marker.
      if (line.trim() !== '' && line.trim() !== '--' && !line.startsWith('\\unrestrict ')) lastMeaningful = line;
    }
  } catch (error) {
    throw new ActionError(`The plain dump ${file} cannot be read to the end: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  if (lastMeaningful.trim() !== PLAIN_COMPLETE_MARKER)
    problems.push(`it does not end with "${PLAIN_COMPLETE_MARKER}" (truncated?)`);
  const missing = expected.tables.filter((table) => !created.has(quotedName(table)));
  const missingData = expected.withData.filter((table) => !filled.has(quotedName(table)));
  if (missing.length)
    problems.push(`no CREATE TABLE for ${missing.map((table) => `${table.schema}.${table.name}`).join(', ')}`);
  if (missingData.length)
    problems.push(`no COPY for ${missingData.map((table) => `${table.schema}.${table.name}`).join(', ')}`);
  return problems;
}

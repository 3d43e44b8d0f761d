import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { ActionError, InputError } from '../errors.js';
import { pgToolEnv, quoteIdent, withClient, withDatabase, type PgTarget } from '../postgres/connection.js';
import { createDatabase, dropDatabase, maintenanceTarget } from '../postgres/databases.js';
import type { PgClientTool } from '../postgres/pg-tools.js';
import { runProcess } from '../process.js';
import { withProgressGroup } from './progress.js';
import { dbnameConninfo } from './restore.js';

/**
 * Partial restore: only the named tables, from a pg_dump archive or from a recovered side cluster,
 * into the live database, as the remedy for tables a release emptied or dropped. It never destroys
 * anything to do so: data goes only into tables that are empty (a down migration recreated them),
 * a definition only where the table no longer exists, and a comparison copy only into a new schema.
 * Each load runs in one transaction, with the tables' triggers on (so foreign keys are checked).
 */
export const TABLE_CONTENTS = ['data', 'definition-and-data'] as const;
export type TableContent = (typeof TABLE_CONTENTS)[number];

export interface TableName {
  schema: string;
  name: string;
}

const qualifiedName = (table: TableName) => `${table.schema}.${table.name}`;
const sqlName = (table: TableName) => `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;

/** A line of `pg_restore --list`: "3380; 0 16390 TABLE DATA public customers postgres". */
export interface TocLine {
  line: string;
  type: string;
  schema: string;
  name: string;
}

const TOC_TYPES = ['TABLE DATA', 'TABLE', 'FK CONSTRAINT', 'TRIGGER', 'SEQUENCE SET'];

export function parseTocLines(listing: string): TocLine[] {
  const entries: TocLine[] = [];
  for (const line of listing.split('\n')) {
    const rest = /^\d+;\s+\d+\s+\d+\s+(.+)$/.exec(line)?.[1];
    if (!rest) continue;
    const type = TOC_TYPES.find((candidate) => rest.startsWith(`${candidate} `)) ?? rest.split(' ')[0];
    const [schema, name] = rest.slice(type.length + 1).split(' ');
    entries.push({ line, type, schema, name });
  }
  return entries;
}

export type TableSource =
  /** A verified, plaintext custom or directory archive. */
  | { kind: 'archive'; path: string; rowCounts?: Record<string, number> }
  /** A database that holds the tables as they were (a recovered side cluster). */
  | { kind: 'database'; target: PgTarget };

export interface TableRestoreRequest {
  source: TableSource;
  /** The database the tables are restored into. */
  live: PgTarget;
  /** As given: "schema.table", or "table" when one schema has it. */
  tables: string[];
  content: TableContent;
  /** Into this new schema of the live database instead of the tables themselves (for comparison). */
  intoSchema?: string;
  noOwner: boolean;
  pgDump: PgClientTool;
  pgRestore: PgClientTool;
  psql: PgClientTool;
  workDir: string;
}

export interface RestoredTable {
  from: string;
  into: string;
  rows: number;
}

/** Tables the source holds, for resolving the names given. */
async function sourceTables(request: TableRestoreRequest): Promise<TableName[]> {
  if (request.source.kind === 'archive') {
    const { stdout } = await runProcess(request.pgRestore.path, ['--list', request.source.path]);
    return parseTocLines(stdout)
      .filter((entry) => entry.type === 'TABLE')
      .map(({ schema, name }) => ({ schema, name }));
  }
  return withClient(request.source.target, async (client) => {
    const { rows } = await client.query<TableName>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
    );
    return rows;
  });
}

/** "orders" or "public.orders" to the one table of the source it names; refused when none or several. */
export function resolveTables(given: string[], available: TableName[], where: string): TableName[] {
  return given.map((text) => {
    const dot = text.indexOf('.');
    const matches =
      dot > 0
        ? available.filter((table) => qualifiedName(table) === text)
        : available.filter((table) => table.name === text);
    if (matches.length === 0)
      throw new InputError('tables', `names "${text}", which is not a table in ${where}. Nothing was restored.`);
    if (matches.length > 1)
      throw new InputError(
        'tables',
        `names "${text}", which is a table in several schemas of ${where} (${matches.map(qualifiedName).join(', ')}): qualify it. Nothing was restored.`,
      );
    return matches[0];
  });
}

async function liveState(client: pg.Client, table: TableName): Promise<{ exists: boolean; hasRows: boolean }> {
  const { rows } = await client.query<{ oid: string | null }>('SELECT to_regclass($1) AS oid', [sqlName(table)]);
  if (!rows[0].oid) return { exists: false, hasRows: false };
  const { rows: sample } = await client.query(`SELECT 1 FROM ${sqlName(table)} LIMIT 1`);
  return { exists: true, hasRows: sample.length > 0 };
}

/** What would be destroyed or mixed is refused, before anything is loaded. */
async function checkLive(request: TableRestoreRequest, tables: TableName[]): Promise<void> {
  await withClient(request.live, async (client) => {
    if (request.intoSchema) {
      const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [request.intoSchema]);
      if (rows.length)
        throw new InputError(
          'tables-schema',
          `is "${request.intoSchema}", which already exists in ${request.live.database}; tables are compared in a new schema only. Nothing was restored.`,
        );
      return;
    }
    for (const table of tables) {
      const state = await liveState(client, table);
      if (request.content === 'data' && !state.exists) {
        throw new ActionError(
          `${qualifiedName(table)} does not exist in ${request.live.database}: its data has nowhere to go. Nothing was restored.`,
          { hint: 'Use tables-content: definition-and-data to recreate it with its rows.' },
        );
      }
      if (request.content === 'data' && state.hasRows) {
        throw new ActionError(
          `${qualifiedName(table)} in ${request.live.database} is not empty: restoring rows into it would mix them with the ones there. Nothing was restored.`,
          {
            hint: 'Restore it into a side schema (tables-schema) to compare, or empty it first if its rows are to be replaced.',
          },
        );
      }
      if (request.content === 'definition-and-data' && state.exists) {
        throw new ActionError(
          `${qualifiedName(table)} exists in ${request.live.database}; its definition is restored only where the table no longer exists. Nothing was restored.`,
          {
            hint: 'Restore its data (tables-content: data) if it is empty, or into a side schema (tables-schema) to compare.',
          },
        );
      }
    }
  });
}

function dumpEnv(target: PgTarget): Record<string, string | undefined> {
  return pgToolEnv(target);
}

/** pg_dump -Fc of some tables of a database (with their indexes, constraints and owned sequences). */
async function dumpTables(
  request: TableRestoreRequest,
  from: PgTarget,
  tables: TableName[],
  options: { dataOnly?: boolean; schema?: string },
): Promise<string> {
  const file = path.join(request.workDir, `tables-${randomBytes(4).toString('hex')}.dump`);
  const args = ['--format=c', `--file=${file}`, '--no-password', '--compress=1'];
  if (options.dataOnly) args.push('--data-only');
  if (options.schema) args.push(`--schema=${quoteIdent(options.schema)}`);
  else for (const table of tables) args.push(`--table=${sqlName(table)}`);
  await runProcess(request.pgDump.path, args, { env: dumpEnv(from) });
  return file;
}

async function pgRestoreInto(
  request: TableRestoreRequest,
  target: PgTarget,
  archive: string,
  options: { dataOnly?: boolean; schemaOnly?: boolean; useList?: string; title: string; singleTransaction?: boolean },
): Promise<void> {
  const args = ['--verbose', '--exit-on-error', '--no-password', `--dbname=${dbnameConninfo(target.database)}`];
  if (options.singleTransaction !== false) args.push('--single-transaction');
  if (options.dataOnly) args.push('--data-only');
  if (options.schemaOnly) args.push('--schema-only');
  if (options.useList) args.push(`--use-list=${options.useList}`);
  if (request.noOwner) args.push('--no-owner', '--no-privileges');
  args.push(archive);
  await withProgressGroup(options.title, (log) =>
    runProcess(request.pgRestore.path, args, { env: pgToolEnv(target), onStderrLine: log, onStdoutLine: log }),
  );
}

/** Several archive parts as SQL (pg_restore -f), loaded into the live database by psql in one transaction. */
async function runInOneTransaction(
  request: TableRestoreRequest,
  parts: { archive: string; useList?: string }[],
  title: string,
): Promise<void> {
  const files: string[] = [];
  for (const part of parts) {
    const file = path.join(request.workDir, `part-${randomBytes(4).toString('hex')}.sql`);
    const args = [
      `--file=${file}`,
      ...(part.useList ? [`--use-list=${part.useList}`] : []),
      ...(request.noOwner ? ['--no-owner', '--no-privileges'] : []),
      part.archive,
    ];
    await runProcess(request.pgRestore.path, args);
    files.push(file);
  }
  const args = [
    '-X',
    '-q',
    '--single-transaction',
    '-v',
    'ON_ERROR_STOP=1',
    '--no-password',
    '--output=/dev/null',
    '-d',
    dbnameConninfo(request.live.database),
    ...files.flatMap((file) => ['-f', file]),
  ];
  await withProgressGroup(title, (log) =>
    runProcess(request.psql.path, args, {
      env: { ...pgToolEnv(request.live), PGOPTIONS: '--client-min-messages=warning' },
      onStderrLine: log,
      onStdoutLine: log,
    }),
  );
}

/** A use-list file holding the TOC lines `keep` selects (pg_restore follows its order). */
async function useList(
  request: TableRestoreRequest,
  archive: string,
  keep: (entry: TocLine) => boolean,
  order?: (a: TocLine, b: TocLine) => number,
): Promise<string> {
  const { stdout } = await runProcess(request.pgRestore.path, ['--list', archive]);
  const entries = parseTocLines(stdout).filter(keep);
  if (order) entries.sort(order);
  const file = path.join(request.workDir, `use-list-${randomBytes(4).toString('hex')}.txt`);
  await writeFile(file, `${entries.map((entry) => entry.line).join('\n')}\n`, { mode: 0o600 });
  return file;
}

/** The tables ordered so that each comes after the ones it references (by the live foreign keys). */
async function loadOrder(live: PgTarget, tables: TableName[]): Promise<TableName[]> {
  const edges = await withClient(live, async (client) => {
    const { rows } = await client.query<{ child: string; parent: string }>(
      `SELECT con.conrelid::regclass::text AS child, con.confrelid::regclass::text AS parent FROM pg_constraint con
        WHERE con.contype = 'f' AND con.conrelid = ANY($1::regclass[]) AND con.confrelid = ANY($1::regclass[]) AND con.conrelid <> con.confrelid`,
      [tables.map(sqlName)],
    );
    return rows;
  });
  const names = (
    await withClient(live, (client) =>
      client.query<{ name: string }>('SELECT unnest($1::regclass[])::text AS name', [tables.map(sqlName)]),
    )
  ).rows.map((row) => row.name);
  const ordered: TableName[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const before = ordered.length;
    tables.forEach((table, index) => {
      if (placed.has(names[index])) return;
      if (edges.some((edge) => edge.child === names[index] && !placed.has(edge.parent))) return;
      placed.add(names[index]);
      ordered.push(table);
    });
    // A cycle: the rest in the order given (their foreign keys decide).
    if (ordered.length === before)
      tables.forEach((table, index) => !placed.has(names[index]) && (placed.add(names[index]), ordered.push(table)));
  }
  return ordered;
}

/**
 * A scratch database holding the tables (with everything their definitions need): for an archive, a
 * new database on the live server with the archive's whole schema and these tables' rows; for a
 * side cluster, a copy of its database there. Dropped by the returned function.
 */
async function scratchCopy(
  request: TableRestoreRequest,
  tables: TableName[],
): Promise<{ target: PgTarget; drop: () => Promise<void> }> {
  const name = `rbtables_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  if (request.source.kind === 'database') {
    const side = request.source.target;
    await withClient(maintenanceTarget(side), (client) =>
      client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(side.database)}`),
    );
    return { target: withDatabase(side, name), drop: () => dropDatabase(side, name) };
  }
  const archive = request.source.path;
  const target = await createDatabase(request.live, name, { template: 'template0' }).catch((error: unknown) => {
    throw new ActionError(
      `Restoring table definitions needs a scratch database on the server, and it could not be created: ${(error as Error).message}`,
      { hint: 'Grant the restoring user CREATEDB.' },
    );
  });
  try {
    // Without foreign keys: the tables they reference stay empty here (they are added in the live database, see restoreTables).
    const schema = await useList(request, archive, (entry) => entry.type !== 'FK CONSTRAINT');
    await pgRestoreInto(request, target, archive, {
      schemaOnly: true,
      useList: schema,
      title: 'pg_restore: the schema into a scratch database',
      singleTransaction: false,
    });
    const wanted = new Set(tables.map(qualifiedName));
    // Every sequence's position too (a few setval calls): the tables' own sequences go along with them.
    const list = await useList(
      request,
      archive,
      (entry) =>
        (entry.type === 'TABLE DATA' && wanted.has(`${entry.schema}.${entry.name}`)) || entry.type === 'SEQUENCE SET',
    );
    await pgRestoreInto(request, target, archive, {
      dataOnly: true,
      useList: list,
      title: "pg_restore: the tables' rows into the scratch database",
    });
  } catch (error) {
    await dropDatabase(request.live, name).catch(() => undefined);
    throw error;
  }
  return { target, drop: () => dropDatabase(request.live, name) };
}

/** Owned sequences of the restored tables moved up to their columns' largest value, so new rows do not collide. */
async function catchUpSequences(target: PgTarget, tables: TableName[]): Promise<void> {
  await withClient(target, async (client) => {
    for (const table of tables) {
      const { rows } = await client.query<{ column: string; sequence: string }>(
        `SELECT a.attname AS column, pg_get_serial_sequence($1, a.attname) AS sequence FROM pg_attribute a
          WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND pg_get_serial_sequence($1, a.attname) IS NOT NULL`,
        [sqlName(table)],
      );
      for (const { column, sequence } of rows) {
        await client.query(
          `SELECT setval($1, m) FROM (SELECT max(${quoteIdent(column)}) AS m FROM ${sqlName(table)}) x WHERE m IS NOT NULL AND m > (SELECT last_value FROM ${sequence})`,
          [sequence],
        );
      }
    }
  });
}

async function countRows(target: PgTarget, tables: TableName[]): Promise<number[]> {
  return withClient(target, async (client) => {
    const counts: number[] = [];
    for (const table of tables)
      counts.push(
        Number(
          (await client.query<{ count: string }>(`SELECT count(*) AS count FROM ${sqlName(table)}`)).rows[0].count,
        ),
      );
    return counts;
  });
}

export async function restoreTables(request: TableRestoreRequest): Promise<RestoredTable[]> {
  const where =
    request.source.kind === 'archive' ? 'the backup' : `the recovered database (port ${request.source.target.port})`;
  const tables = resolveTables(request.tables, await sourceTables(request), where);
  if (request.intoSchema) {
    const clash = tables.find((table, index) => tables.findIndex((other) => other.name === table.name) !== index);
    if (clash)
      throw new InputError(
        'tables',
        `has two tables called "${clash.name}", which cannot both go into schema "${request.intoSchema}".`,
      );
  }
  await checkLive(request, tables);
  const sourceCounts = request.source.kind === 'database' ? await countRows(request.source.target, tables) : undefined;
  const into = tables.map((table) => (request.intoSchema ? { schema: request.intoSchema, name: table.name } : table));
  const description = `${tables.map(qualifiedName).join(', ')}${request.intoSchema ? ` into schema ${request.intoSchema}` : ''}`;
  core.info(
    `Restoring ${request.content === 'data' && !request.intoSchema ? 'the rows of' : 'the definition and rows of'} ${description}.`,
  );

  if (!request.intoSchema && request.content === 'data') {
    let archive: string;
    let list: string | undefined;
    if (request.source.kind === 'archive') {
      archive = request.source.path;
      // pg_restore loads a use-list in its order: referenced tables first, so foreign keys hold row by row.
      const order = (await loadOrder(request.live, tables)).map(qualifiedName);
      const wanted = new Set(order);
      list = await useList(
        request,
        archive,
        (entry) => entry.type === 'TABLE DATA' && wanted.has(`${entry.schema}.${entry.name}`),
        (a, b) => order.indexOf(`${a.schema}.${a.name}`) - order.indexOf(`${b.schema}.${b.name}`),
      );
    } else {
      archive = await dumpTables(request, request.source.target, tables, { dataOnly: true });
    }
    await pgRestoreInto(request, request.live, archive, {
      dataOnly: true,
      useList: list,
      title: `pg_restore: rows of ${description}`,
    });
    await catchUpSequences(request.live, tables);
  } else {
    // Definitions come from a database that has the tables, so that pg_dump brings their indexes,
    // constraints, defaults and owned sequences along (pg_restore --table would not).
    const direct = request.source.kind === 'database' && !request.intoSchema;
    const scratch = direct ? undefined : await scratchCopy(request, tables);
    try {
      const from = scratch?.target ?? (request.source as { target: PgTarget }).target;
      if (request.intoSchema) {
        await withClient(from, async (client) => {
          await client.query(`CREATE SCHEMA ${quoteIdent(request.intoSchema!)}`);
          for (const table of tables)
            await client.query(`ALTER TABLE ${sqlName(table)} SET SCHEMA ${quoteIdent(request.intoSchema!)}`);
        });
      }
      const archive = await dumpTables(request, from, request.intoSchema ? into : tables, {
        schema: request.intoSchema,
      });
      if (request.intoSchema) {
        // A comparison copy gets no behaviour: no triggers, and no foreign keys into the live tables.
        const list = await useList(
          request,
          archive,
          (entry) => entry.type !== 'FK CONSTRAINT' && entry.type !== 'TRIGGER',
        );
        await pgRestoreInto(request, request.live, archive, { useList: list, title: `pg_restore: ${description}` });
      } else if (request.source.kind === 'archive') {
        // The tables from the scratch database, then their foreign keys from the backup, in one transaction.
        const wanted = new Set(tables.map(qualifiedName));
        const foreignKeys = await useList(
          request,
          request.source.path,
          (entry) => entry.type === 'FK CONSTRAINT' && wanted.has(`${entry.schema}.${entry.name}`),
        );
        await runInOneTransaction(
          request,
          [{ archive }, { archive: request.source.path, useList: foreignKeys }],
          `psql: ${description}, with its foreign keys`,
        );
      } else {
        await pgRestoreInto(request, request.live, archive, { title: `pg_restore: ${description}` });
      }
      if (!request.intoSchema) await catchUpSequences(request.live, tables);
    } finally {
      await scratch
        ?.drop()
        .catch((error: unknown) => core.warning(`Could not drop the scratch database: ${(error as Error).message}`));
    }
  }

  const counts = await countRows(request.live, into);
  const expected =
    request.source.kind === 'archive'
      ? request.source.rowCounts
      : Object.fromEntries(tables.map((table, index) => [qualifiedName(table), sourceCounts![index]]));
  const restored = tables.map((table, index) => ({
    from: qualifiedName(table),
    into: qualifiedName(into[index]),
    rows: counts[index],
  }));
  const mismatches = restored.filter(
    (table) => expected?.[table.from] !== undefined && expected[table.from] !== table.rows,
  );
  if (mismatches.length) {
    throw new ActionError(
      `The restored tables do not hold what the backup recorded: ${mismatches.map((table) => `${table.into} has ${table.rows} rows, the backup ${expected![table.from]}`).join('; ')}.`,
    );
  }
  for (const table of restored) core.info(`${table.into}: ${table.rows} row(s) restored from ${table.from}.`);
  return restored;
}
